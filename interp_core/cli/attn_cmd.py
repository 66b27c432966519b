"""`attn`: attention patterns of one prompt (every layer and head, or one of them)."""
from __future__ import annotations

from interp_core.cli.main import add_model_args, load_from_args


def add_arguments(p):
    add_model_args(p)
    p.add_argument("--prompt", required=True, help="text whose attention patterns to capture")
    p.add_argument("--layer", type=int, default=None, help="only this layer (default: every layer)")
    p.add_argument("--head", type=int, default=None, help="only this head (default: every head)")


def run(args) -> dict:
    from interp_core.components import attention_patterns

    lm = load_from_args(args)
    if args.head is not None and not 0 <= args.head < lm.adapter.n_heads:
        from interp_core.errors import UserError
        raise UserError(f"Head {args.head} is out of range; this model has heads 0–{lm.adapter.n_heads - 1}.")
    res = attention_patterns(lm, args.prompt, layers=None if args.layer is None else [args.layer])
    return res.to_dict(layer=args.layer, head=args.head)


def to_text(result: dict) -> str:
    toks = result["tokens"]
    lines = [f"{result['model']}: {len(toks)} tokens, {result['n_heads']} heads ({result['n_kv_heads']} key/value)"]
    for lay in result["layers"]:
        kind = lay["kind"] + (f" window {lay['window']}" if lay["window"] else "")
        for h in lay["heads"]:
            last = h["pattern"][-1]
            best = sorted(range(len(last)), key=lambda k: -last[k])[:3]
            lines.append(f"L{lay['layer']:>2} H{h['head']:>2} ({kind}): last token attends to "
                         + ", ".join(f"{toks[k]!r} {last[k]:.3f}" for k in best))
    return "\n".join(lines)
