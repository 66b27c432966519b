"""Argument parsing and the shared flags (--model, --device, --dtype, --revision, --json)."""
from __future__ import annotations

import argparse
import importlib
import json
import math
import sys

from interp_core.errors import UserError
from interp_core.results import is_out_of_memory

# command -> (module, help). Modules are imported lazily so `models` starts fast.
COMMANDS: dict[str, tuple[str, str]] = {
    "models": ("interp_core.cli.models_cmd", "list the embedded and known models"),
    "info": ("interp_core.cli.info_cmd", "print a model's shape"),
    "neurons": ("interp_core.cli.neurons_cmd", "seed method: which tokens make one neuron fire"),
    "scan": ("interp_core.cli.scan_cmd", "whole-layer scan: top-k activations of every neuron"),
    "lens": ("interp_core.cli.lens_cmd", "logit lens: every layer's predictions"),
    "dist": ("interp_core.cli.dist_cmd", "activation distributions per layer"),
    "ablate": ("interp_core.cli.ablate_cmd", "ablation / patching experiments"),
    "steer": ("interp_core.cli.steer_cmd", "steering: add a direction, clean vs steered predictions and generations"),
    "patch": ("interp_core.cli.patch_cmd", "activation patching grids and attribution patching"),
    "attn": ("interp_core.cli.attn_cmd", "attention patterns of one prompt"),
    "dla": ("interp_core.cli.dla_cmd", "direct logit attribution of a target token"),
    "sae": ("interp_core.cli.sae_cmd", "sparse autoencoders: list, load (check against a model), train"),
    "features": ("interp_core.cli.features_cmd", "which SAE features fire on a prompt"),
    "flow": ("interp_core.cli.flow_cmd", "information flow: the graph of routes to one token"),
    "lesson": ("interp_core.cli.lesson_cmd", "validate lesson files (lesson check FILE…)"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit 2 (argparse's own behaviour, without the usage dump)
        print(f"error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="embedded name (gemma-3-270m, minilm-l6), hub id or local folder")
    p.add_argument("--revision", default=None, help="hub revision (branch, tag or commit)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu or cuda")
    p.add_argument("--dtype", default="auto",
                   help="auto (default: bfloat16 on a GPU that supports it, else float32), float32, bfloat16 or float16")
    p.add_argument("--device-map", default=None, metavar="auto|JSON",
                   help="split the model over devices with Accelerate: auto, or a JSON map such as "
                        "'{\"model.layers.0\": 0, \"model.layers.1\": \"disk\"}' (disk = offloaded)")


RESIDENT: dict | None = None  # set by the resident worker (cli/worker.py): spec -> model kept between calls


def load_from_args(args):
    """Load the model named by the shared flags (a resident worker reuses its loaded ones); progress to stderr."""
    from interp_core.engine.loading import load_model, make_spec
    from interp_core.settings import load_settings

    settings = load_settings()
    spec = make_spec(args.model or settings.default_model, revision=args.revision,
                     device=args.device, dtype=args.dtype, device_map=getattr(args, "device_map", None))
    if RESIDENT is not None and spec in RESIDENT:
        return RESIDENT[spec]

    def progress(frac, msg):
        print(f"[{'' if frac is None else f'{frac:4.0%}'}] {msg}", file=sys.stderr)

    lm = load_model(spec, progress=progress)
    if RESIDENT is not None:
        while RESIDENT and len(RESIDENT) >= settings.max_models:
            RESIDENT.pop(next(iter(RESIDENT)))  # the oldest goes: the worker keeps at most max_models
        RESIDENT[spec] = lm
    return lm


def resolve_sae_site(args, lm) -> None:
    """--site sae --sae ID: the site becomes 'sae:ID' and the layer, when not given, the SAE's own."""
    if getattr(args, "site", None) != "sae":
        if getattr(args, "sae", None):
            raise UserError("--sae goes with --site sae.")
        return
    if not args.sae:
        raise UserError("--site sae needs --sae ID (see `python -m interp_core sae list`).")
    from interp_core.features import attach

    site, _ = attach(lm, args.sae)
    args.site = f"sae:{args.sae}"
    if args.layer is None:
        args.layer = site.layer


def _clean(obj):
    """Make results JSON-safe: NaN/inf -> None, tuples -> lists, numpy scalars -> Python."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        return _clean(obj.item())
    if hasattr(obj, "tolist"):
        return _clean(obj.tolist())
    return obj


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m interp_core", description="Looking Glass, headless.",
                     epilog="python -m interp_core worker start|stop|restart|status: keep a resident process with "
                            "torch and the models loaded; later calls are served by it and start in well under a "
                            "second.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--json", action="store_true", help="print the result as JSON")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            continue
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run, _text=getattr(mod, "to_text", None))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "_run"):
        print(f"error: the '{args.command}' command is not available in this build.", file=sys.stderr)
        return 2
    try:
        result = args._run(args)
    except UserError as e:
        if args.json:
            print(json.dumps({"error": str(e)}))
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    except (MemoryError, RuntimeError) as e:  # torch reports CUDA OOM and failed CPU allocations as RuntimeErrors
        if not is_out_of_memory(e):
            raise
        print("error: out of memory; try a smaller batch, fewer tokens or a smaller model.", file=sys.stderr)
        return 1
    result = _clean(result)
    try:
        if args.json or args._text is None:
            print(json.dumps(result, ensure_ascii=False))
        else:
            print(args._text(result))
    except BrokenPipeError:  # e.g. piped into `head`: the reader left; that is not an error
        sys.stderr.close()
    return 0
