"""`scan`: whole-layer scan — top-k activations and statistics of every neuron of a site (cached on disk)."""
from __future__ import annotations

import sys

from interp_core.cli.main import add_model_args, load_from_args


def add_arguments(p):
    add_model_args(p)
    p.add_argument("--corpus", default="builtin:looking-glass", help="file path, gutenberg:ID or builtin:NAME")
    p.add_argument("--layer", type=int, required=True, help="layer L (resid: 0..n_layers, mlp: 0..n_layers-1)")
    p.add_argument("--site", choices=("resid", "mlp"), default="mlp")
    p.add_argument("--top-k", type=int, default=20, help="activations kept per neuron")
    p.add_argument("--max-tokens", type=int, default=None, help="scan only the first N corpus tokens")
    p.add_argument("--seq-len", type=int, default=256, help="corpus tokens per window")
    p.add_argument("--batch-size", type=int, default=16, help="windows per forward pass")
    p.add_argument("--no-cache", action="store_true", help="recompute even when a cached result exists")


def run(args) -> dict:
    from interp_core.data.corpus import load_corpus
    from interp_core.neurons.scan import scan_layer
    from interp_core.data.tokens import tokenize_corpus

    corpus = load_corpus(args.corpus)
    lm = load_from_args(args)
    tc = tokenize_corpus(lm, corpus)
    last = [-1.0]

    def progress(frac, msg):
        if frac - last[0] >= 0.05 or frac >= 1:
            last[0] = frac
            print(f"[{frac:4.0%}] {msg}", file=sys.stderr)

    res = scan_layer(lm, tc, site=args.site, layer=args.layer, top_k=args.top_k, seq_len=args.seq_len,
                     batch_size=args.batch_size, max_tokens=args.max_tokens, progress=progress,
                     use_cache=not args.no_cache)
    return {**res.to_dict(lm, tc), "cached": res.cached}


def to_text(result: dict) -> str:
    lines = [f"{result['model']} {result['hook_site']}: {len(result['neurons'])} neurons over "
             f"{result['n_tokens_scanned']:,} tokens of {result['corpus']}" + (" (cached)" if result["cached"] else ""),
             "", "neuron       max      mean  top tokens"]
    best = sorted(result["neurons"], key=lambda n: -(n["max"] or 0))[:30]
    for n in best:
        toks = ", ".join(repr(t["token"]) for t in n["top"][:5])
        lines.append(f"{n['index']:>6} {n['max']:9.3f} {n['mean']:9.3f}  {toks}")
    return "\n".join(lines)
