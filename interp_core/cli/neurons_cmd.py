"""`neurons`: the seed method — which corpus tokens win the argmax of one neuron over random windows."""
from __future__ import annotations

import sys

from interp_core.cli.main import add_model_args, load_from_args


def add_arguments(p):
    add_model_args(p)
    p.add_argument("--corpus", default="builtin:looking-glass", help="file path, gutenberg:ID or builtin:NAME")
    p.add_argument("--layer", type=int, required=True, help="layer L (resid: 0..n_layers, mlp: 0..n_layers-1)")
    p.add_argument("--site", choices=("resid", "mlp"), default="mlp")
    p.add_argument("--dim", type=int, required=True, help="neuron / residual dimension")
    p.add_argument("--batch-size", type=int, default=32, help="windows per sample (B)")
    p.add_argument("--seq-len", type=int, default=256, help="corpus tokens per window (T)")
    p.add_argument("--samples", type=int, default=1000, help="number of samples (N)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--top", type=int, default=20, help="strongest individual samples to report")


def run(args) -> dict:
    from interp_core.data.corpus import load_corpus
    from interp_core.neurons.seed import seed_method
    from interp_core.data.tokens import tokenize_corpus

    corpus = load_corpus(args.corpus)
    lm = load_from_args(args)
    tc = tokenize_corpus(lm, corpus)
    step = max(1, args.samples // 20)

    def progress(frac, msg):
        if round(frac * args.samples) % step == 0:
            print(f"[{frac:4.0%}] {msg}", file=sys.stderr)

    res = seed_method(lm, tc, site=args.site, layer=args.layer, dim=args.dim, batch_size=args.batch_size,
                      seq_len=args.seq_len, samples=args.samples, seed=args.seed, progress=progress)
    return res.to_dict(n_top=args.top)


def to_text(result: dict) -> str:
    lines = [f"{result['model']} {result['hook_site']} dim {result['dim']}: {result['samples']} samples of "
             f"{result['batch_size']}x{result['seq_len']} tokens from {result['corpus']}", "", "winners:"]
    lines += [f"  {w['count']:>6}  {w['fraction']:6.1%}  {w['token']!r}" for w in result["winners"][:20]]
    lines += ["", "strongest samples:"]
    lines += [f"  {t['activation']:10.4f}  {t['token']!r:>14}  {t['context']!r}" for t in result["top"]]
    return "\n".join(lines)
