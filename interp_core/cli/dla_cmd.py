"""`dla`: direct logit attribution of a target token (optionally minus a foil) at one position."""
from __future__ import annotations

from interp_core.cli.main import add_model_args, load_from_args


def add_arguments(p):
    add_model_args(p)
    p.add_argument("--prompt", required=True, help="text to attribute")
    p.add_argument("--target", required=True, help="one token, with its leading space (' Paris')")
    p.add_argument("--foil", default=None, help="a second token: attribute logit[target] − logit[foil] (' Rome')")
    p.add_argument("--position", type=int, default=-1, help="prompt position (negative counts from the end; default -1)")


def run(args) -> dict:
    from interp_core.components import direct_logit_attribution

    lm = load_from_args(args)
    return direct_logit_attribution(lm, args.prompt, args.target, foil=args.foil, position=args.position).to_dict()


def to_text(result: dict) -> str:
    lines = [f"{result['label']} at position {result['position']} ({result['token']!r}): "
             f"model {result['actual']:.4f}, parts sum to {result['total']:.4f}", result["note"],
             f"  embed            {result['embed']:+.4f}"]
    for lay, (a, m) in enumerate(zip(result["attn"], result["mlp"])):
        top = max(range(len(result["heads"][lay])), key=lambda h: abs(result["heads"][lay][h]))
        lines.append(f"  layer {lay:>2}  attn {a:+.4f} (strongest head {top}: {result['heads'][lay][top]:+.4f})"
                     f"  mlp {m:+.4f}")
    lines.append(f"  final norm bias  {result['norm_bias']:+.4f}")
    return "\n".join(lines)
