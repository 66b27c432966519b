"""`patch`: exact activation-patching grids and the attribution-patching screen, headless."""
from __future__ import annotations

import sys

from interp_core.cli.main import add_model_args, load_from_args
from interp_core.errors import UserError

GRID_CHOICES = ("resid", "attn_out", "mlp_out", "heads", "attribution")


def add_arguments(p):
    add_model_args(p)
    p.add_argument("--clean", required=True, help="the clean prompt, e.g. 'The Eiffel Tower is in the city of'")
    p.add_argument("--corrupt", required=True, help="the corrupted prompt, e.g. 'The Colosseum is in the city of'")
    p.add_argument("--target", required=True, help="the clean answer token, e.g. ' Paris' (with its leading space)")
    p.add_argument("--foil", default=None, help="the corrupted answer token, e.g. ' Rome' (needed for logit_diff)")
    p.add_argument("--grid", default="resid", choices=GRID_CHOICES)
    p.add_argument("--metric", default="logit_diff", choices=("logit_diff", "prob"))
    p.add_argument("--align", default="refuse", choices=("refuse", "end"),
                   help="prompts of different lengths: refuse (default) or align them from the end")
    p.add_argument("--direction", default="denoise", choices=("denoise", "noise"),
                   help="exact grids: denoise = clean activation into the corrupted run (default); "
                        "noise = corrupted into clean")
    p.add_argument("--check-heads", action="store_true",
                   help="with --grid attribution: also run the exact patch of every head beside its estimate")


def _progress(frac, msg):
    print(f"[{'' if frac is None else f'{frac:4.0%}'}] {msg}", file=sys.stderr)


def run(args) -> dict:
    from interp_core.patching import all_heads, attribute, exact_check, patch_grid

    if args.check_heads and args.grid != "attribution":
        raise UserError("--check-heads goes with --grid attribution.")
    lm = load_from_args(args)
    common = dict(metric=args.metric, align=args.align, progress=_progress)
    if args.grid == "attribution":
        attr = attribute(lm, args.clean, args.corrupt, args.target, args.foil, **common)
        out = attr.to_dict()
        if args.check_heads:
            out["check_heads"] = exact_check(lm, attr, all_heads(lm), progress=_progress).to_dict()
        return out
    return patch_grid(lm, args.clean, args.corrupt, args.target, args.foil, grid=args.grid, direction=args.direction,
                      **common).to_dict()


def to_text(r: dict) -> str:
    prov = r["provenance"]
    m = prov["metric"]
    head = [f"{prov['model']} · clean {prov['clean']!r} · corrupted {prov['corrupt']!r}",
            f"metric: {m['about']} (target {m['target']!r}, foil {m['foil']!r}); "
            f"clean {m['clean']:.4f}, corrupted {m['corrupt']:.4f}"]
    if r["kind"] == "attribution":
        heads = [(v, l, h) for l, row in enumerate(r["heads"]) for h, v in enumerate(row)]
        heads.sort(key=lambda t: abs(t[0]), reverse=True)
        lines = head + [f"attribution estimate (Δ metric, corrupted into clean) in {r['seconds']:.2f} s; top heads:"]
        lines += [f"  head {l}.{h}: {v:+.4f}" for v, l, h in heads[:10]]
        if "check_heads" in r:
            c = r["check_heads"]
            corr = "n/a" if c["correlation"] is None else f"{c['correlation']:.3f}"
            lines.append(f"exact check of every head in {c['seconds']:.2f} s: correlation(estimate, exact) = {corr}")
        return "\n".join(lines)
    lines = head + [f"{r['grid']} grid ({r['about']}), {r['direction']}: {r['n_runs']} patched runs in "
                    f"{r['seconds']:.2f} s", "layer  " + "  ".join(f"{c[:10]:>10}" for c in r["column_labels"])]
    for lab, row in zip(r["layer_labels"], r["values"]):
        lines.append(f"{lab:>5}  " + "  ".join(f"{v:>10.3f}" for v in row))
    return "\n".join(lines)
