"""`lens`: the logit lens of one prompt (every layer's top-k), or with --mask-sweep the z-score sweep."""
from __future__ import annotations

from interp_core.cli.main import add_model_args, load_from_args


def add_arguments(p):
    add_model_args(p)
    p.add_argument("--prompt", required=True, help="text to decode (BERT: put [MASK] where the word to predict goes)")
    p.add_argument("--method", default="auto", choices=("auto", "final-norm", "full-head", "dot-product"),
                   help="auto = final-norm for decoders, full-head for BERT; dot-product = naive comparison")
    p.add_argument("--target", default=None,
                   help="one token to track at every layer, with its leading space (' Paris'); default: each "
                        "position's final prediction")
    p.add_argument("--top-k", type=int, default=5, help="predictions kept per cell (1..50)")
    p.add_argument("--mask-sweep", action="store_true",
                   help="BERT: mask each token in turn and score it per layer; decoders: next-token z per layer")


def run(args) -> dict:
    from interp_core.lens import compute_lens, resolve_method
    from interp_core.lens import lens_sweep

    lm = load_from_args(args)
    resolve_method(lm, args.method)  # no LM head / wrong method: say so before any work
    if args.mask_sweep:
        return lens_sweep(lm, args.prompt, args.method).to_dict()
    return compute_lens(lm, args.prompt, args.method, args.top_k, args.target).to_dict()


def to_text(result: dict) -> str:
    layers = result["layers"]
    if "top" not in result:  # sweep
        lines = [f"{result['kind']} sweep ({result['method']}): normalised z per layer, one column per token"]
        lines.append("layer  " + " ".join(f"{t[:8]:>8}" for t in result["tokens"]))
        for layer, row in zip(layers, result["normalized"]):
            lines.append(f"{layer:>5}  " + " ".join(f"{v:8.2f}" for v in row))
        return "\n".join(lines)
    toks = result["tokens"]
    lines = [f"logit lens ({result['method']}): top-1 per layer at the last position {toks[-1]!r}"]
    t = result["target"]
    for li, layer in enumerate(layers):
        top = result["top"][li][-1]
        best = ", ".join(f"{c['token']!r} {c['prob']:.3f}" for c in top)
        lines.append(f"{layer:>5}  z={result['zscore'][li][-1]:6.2f}  {best}  | target {t['tokens'][-1]!r} "
                     f"rank {t['rank'][li][-1]}")
    return "\n".join(lines)
