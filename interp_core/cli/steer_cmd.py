"""`steer`: add a direction at one site and layer; clean vs steered predictions and continuations, an α sweep."""
from __future__ import annotations

import re
import sys

from interp_core.steer_terms import ALPHA_UNITS, POSITIONS_HELP
from interp_core.cli.main import add_model_args, load_from_args
from interp_core.engine.sites import STEER_SITES
from interp_core.errors import UserError

# argparse takes "-8:8:9" for an option; a range that starts with a minus sign is a value here
_VALUE = re.compile(r"^-\d+$|^-\d*\.\d+$|^-[\d.]+:[-\d.]+(:\d+)?$")


def add_arguments(p):
    add_model_args(p)
    p._negative_number_matcher = _VALUE
    p.add_argument("--prompt", required=True, help="the prompt to steer (BERT: include [MASK])")
    p.add_argument("--layer", type=int, required=True, help="block index")
    p.add_argument("--site", default="resid_pre", choices=STEER_SITES)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--contrast", nargs=2, metavar=("A", "B"),
                     help="direction = mean activation on A minus on B at the site ('|' separates several prompts)")
    src.add_argument("--neuron", metavar="L:N", help="an MLP neuron's output weight, e.g. 3:120")
    src.add_argument("--resid-dim", type=int, metavar="N", help="the unit vector of residual dimension N")
    src.add_argument("--token", help="a token's unembedding row, e.g. ' Paris'")
    src.add_argument("--vector", metavar="FILE", help="a saved direction (.npy or .safetensors)")
    src.add_argument("--feature", metavar="SAE:N", help="feature N of an SAE (its decoder row), e.g. my-sae:12")
    p.add_argument("--contrast-positions", default="last", choices=("last", "all"),
                   help="contrast: each prompt's last token, or all its tokens averaged")
    p.add_argument("--alpha", type=float, default=4.0, help="strength α (default 4)")
    p.add_argument("--alpha-unit", default="abs", choices=tuple(ALPHA_UNITS),
                   help="abs: α along the unit direction, in the site's units; norm: α × the site's typical norm")
    p.add_argument("--raw", action="store_true", help="keep the direction's own length instead of unit norm")
    p.add_argument("--positions", default="all", help=POSITIONS_HELP)
    p.add_argument("--alphas", default=None, help="also sweep α: start:stop:count (e.g. -8:8:9) or a comma list")
    p.add_argument("--target", action="append", default=[], help="a target token to follow (repeatable, ≤ 4)")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--generate", type=int, default=0, help="tokens to generate, clean and steered")
    p.add_argument("--temperature", type=float, default=None, help="sample at this temperature (default: greedy)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed, the same for clean and steered")
    p.add_argument("--save-vector", metavar="FILE", default=None, help="write the direction to a .npy/.safetensors")


def direction_spec(args):
    from interp_core.ablation.directions import DirectionSpec

    if args.contrast:
        return DirectionSpec.of("contrast", a=args.contrast[0], b=args.contrast[1], positions=args.contrast_positions)
    if args.neuron:
        layer, _, index = args.neuron.partition(":")
        if not index:
            raise UserError("--neuron takes LAYER:INDEX, e.g. 3:120.")
        return DirectionSpec.of("neuron", layer=layer, index=index)
    if args.resid_dim is not None:
        return DirectionSpec.of("resid_dim", dim=args.resid_dim)
    if args.token is not None:
        return DirectionSpec.of("token", token=args.token)
    if args.feature:
        sae, _, index = args.feature.rpartition(":")
        if not sae or not index:
            raise UserError("--feature takes SAE:INDEX, e.g. my-sae:12.")
        return DirectionSpec.of("feature", sae=sae, feature=index)
    return DirectionSpec.of("vector", path=args.vector)


def _progress(frac, msg):
    print(f"[{'' if frac is None else f'{frac:4.0%}'}] {msg}", file=sys.stderr)


def run(args) -> dict:
    from interp_core.ablation.directions import build_direction
    from interp_core.ablation.generation import Sampling
    from interp_core.ablation.steer import Steer
    from interp_core.ablation.steer_run import parse_alphas, run_steer, steer_sweep
    from interp_core.ablation.vectors import save_vector

    if args.generate < 0 or args.top_k < 1:
        raise UserError("--generate must be ≥ 0 and --top-k ≥ 1.")
    if args.temperature is not None and not args.temperature > 0:
        raise UserError("--temperature must be > 0.")
    alphas = parse_alphas(args.alphas) if args.alphas else None
    s = Steer(args.site, args.layer, args.alpha, args.alpha_unit, args.positions, args.raw)
    sample = None if args.temperature is None else Sampling(args.temperature, args.seed)
    lm = load_from_args(args)
    d = build_direction(lm, direction_spec(args), s.hook_site)
    out = run_steer(lm, args.prompt, d, s, targets=tuple(args.target), top_k=args.top_k, generate=args.generate,
                    sample=sample, progress=_progress).to_dict()
    if alphas is not None:
        out["sweep"] = steer_sweep(lm, args.prompt, d, s, alphas=alphas, targets=tuple(args.target),
                                   top_k=min(args.top_k, 10), generate=args.generate, sample=sample,
                                   progress=_progress).to_dict()
    if args.save_vector:
        out["saved_vector"] = str(save_vector(d, args.save_vector))
    return out


def _top(side) -> str:
    return ", ".join(f"{t['token']!r} {t['prob']:.3f}" for t in side["top"][:5])


def to_text(r: dict) -> str:
    lines = [f"{r['model']} · {r['steer']} · direction: {r['direction']['label']}",
             f"typical norm at {r['site']}: {r['typical_norm']:.3f}; added ‖α·v‖ = {r['added_norm']:.3f}",
             f"clean:   {_top(r['clean'])}", f"steered: {_top(r['steered'])}", f"KL(clean‖steered) = {r['kl']:.4f} nats"]
    for t in r["targets"]:
        lines.append(f"target {t!r}: p {r['clean']['target_probs'][t]:.4f} -> {r['steered']['target_probs'][t]:.4f}")
    g_c, g_s = r["clean"]["generation"], r["steered"]["generation"]
    if g_c["tokens"]:
        lines.append(f"clean gen:   {g_c['text']!r} (coherence {g_c['coherence']:.2f})")
        lines.append(f"steered gen: {g_s['text']!r} (coherence {g_s['coherence']:.2f})")
        fd = r.get("first_divergence")
        lines.append("identical" if fd is None else f"first divergence at generated token {fd}")
    if "sweep" in r:
        sw = r["sweep"]
        lines.append(f"α sweep ({sw['alpha_unit']}), targets {sw['targets']}:")
        for rec in sw["records"]:
            probs = " ".join(f"{p:.3f}" for p in rec["target_probs"].values())
            coh = rec["generation"]["coherence"]
            lines.append(f"  α={rec['alpha']:>+7.2f}  p=[{probs}]  top {rec['top'][0]['token']!r}"
                         + (f"  coh {coh:.2f}  {rec['generation']['text']!r}" if coh is not None else ""))
    if "saved_vector" in r:
        lines.append(f"direction saved to {r['saved_vector']}")
    return "\n".join(lines)
