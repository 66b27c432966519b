"""`dist`: per-layer activation statistics, shared-bin histograms, covariance and R² between layers."""
from __future__ import annotations

from interp_core.engine.sites import DIST_SITES
from interp_core.cli.main import add_model_args, load_from_args


def add_arguments(p):
    add_model_args(p)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--prompt", help="measure this one text")
    src.add_argument("--corpus", help="builtin:looking-glass, gutenberg:ID or a text file path")
    p.add_argument("--max-tokens", type=int, default=2000, help="token budget for a corpus sample (default 2000)")
    p.add_argument("--window", type=int, default=256, help="tokens per sequence of a corpus sample (default 256)")
    p.add_argument("--site", choices=DIST_SITES, default="resid",
                   help="resid (default; embeddings first), mlp_out, attn_out or mlp (MLP neurons)")
    first = p.add_mutually_exclusive_group()
    first.add_argument("--exclude-first", dest="exclude_first", action="store_true", default=True,
                       help="drop the first token of every sequence (default: it is an outlier, nothing precedes it)")
    first.add_argument("--include-first", dest="exclude_first", action="store_false",
                       help="keep the first token of every sequence")
    p.add_argument("--bins", type=int, default=80, help="at most this many equal-width shared bins (default 80)")


def run(args) -> dict:
    from interp_core.data import load_corpus
    from interp_core.distributions import activation_distributions, corpus_sample, prompt_sample
    from interp_core.errors import UserError

    if args.max_tokens < 1:
        raise UserError("--max-tokens must be a positive number.")
    if not 2 <= args.bins <= 1000:
        raise UserError("--bins must be between 2 and 1000.")
    corpus = load_corpus(args.corpus) if args.corpus is not None else None  # a bad path fails before loading
    lm = load_from_args(args)
    if corpus is None:
        sample = prompt_sample(lm, args.prompt)
    else:
        sample = corpus_sample(lm, corpus.text, args.max_tokens, window=args.window, name=corpus.name)
    result = activation_distributions(lm, sample, site=args.site, exclude_first=args.exclude_first, bins=args.bins)
    return result.to_dict()


def to_text(result: dict) -> str:
    lines = [f"{result['model']} · {result['site']} · {result['sample']} · {result['n_tokens']:,} tokens measured"
             f" ({'first token excluded' if result['exclude_first'] else 'first token included'})",
             f"{'layer':>6} {'mean':>10} {'std':>10} {'min':>11} {'max':>11} {'kurtosis':>10}  outlier dims"]

    def f(v, w):
        return f"{'nan':>{w}}" if v is None else f"{v:>{w}.4g}"

    for s in result["stats"]:
        lines.append(f"{s['label']:>6} {f(s['mean'], 10)} {f(s['std'], 10)} {f(s['min'], 11)} {f(s['max'], 11)} "
                     f"{f(s['kurtosis'], 10)}  {', '.join(str(d) for d in s['outlier_dims'])}")
    return "\n".join(lines)
