"""`neurons`: the seed method — which corpus tokens win the argmax of one neuron over random windows."""
from __future__ import annotations

import sys

from interp_core.engine.sites import NEURON_SITES
from interp_core.cli.main import add_model_args, load_from_args, resolve_sae_site


def add_arguments(p):
    add_model_args(p)
    p.add_argument("--corpus", default="builtin:looking-glass", help="file path, gutenberg:ID or builtin:NAME")
    p.add_argument("--layer", type=int, default=None,
                   help="layer L (resid: 0 = embeddings up to n_layers; mlp: a block index; see `info`; sae: the SAE's)")
    p.add_argument("--site", choices=(*NEURON_SITES, "sae"), default="mlp",
                   help="sae: the latents of the SAE --sae (its layer is the SAE's)")
    p.add_argument("--sae", default=None, help="SAE id for --site sae: a folder, a trained SAE's name or 'RELEASE/SAE_ID'")
    p.add_argument("--dim", type=int, required=True, help="neuron / residual dimension")
    p.add_argument("--batch-size", type=int, default=32, help="windows per sample (B)")
    p.add_argument("--seq-len", type=int, default=256, help="corpus tokens per window (T)")
    p.add_argument("--samples", type=int, default=1000, help="number of samples (N)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--top", type=int, default=20, help="strongest individual samples to report")
    p.add_argument("--writes", action="store_true",
                   help="instead of sampling: the tokens this neuron promotes / suppresses through the unembedding")
    p.add_argument("--prompt", default=None, metavar="TEXT",
                   help="instead of sampling: the neuron's activation on every token of TEXT")


def run(args) -> dict:
    from interp_core.errors import UserError

    if args.layer is None and args.site != "sae":
        raise UserError("--layer is required (see `info` for the layers).")
    if args.writes or args.prompt is not None:
        return _component_view(args)
    from interp_core.data import load_corpus
    from interp_core.neurons import seed_method
    from interp_core.data import tokenize_corpus

    corpus = load_corpus(args.corpus)
    lm = load_from_args(args)
    resolve_sae_site(args, lm)
    tc = tokenize_corpus(lm, corpus)
    step = max(1, args.samples // 20)

    def progress(frac, msg):
        if round(frac * args.samples) % step == 0:
            print(f"[{frac:4.0%}] {msg}", file=sys.stderr)

    res = seed_method(lm, tc, site=args.site, layer=args.layer, dim=args.dim, batch_size=args.batch_size,
                      seq_len=args.seq_len, samples=args.samples, seed=args.seed, progress=progress)
    return res.to_dict(n_top=args.top)


def _component_view(args) -> dict:
    """--writes and/or --prompt: no corpus needed."""
    from interp_core.components import neuron_writes, prompt_activations

    lm = load_from_args(args)
    resolve_sae_site(args, lm)
    out: dict = {"model": lm.spec.name, "site": args.site, "layer": args.layer, "dim": args.dim}
    if args.writes:
        out["writes"] = neuron_writes(lm, site=args.site, layer=args.layer, dim=args.dim, k=args.top).to_dict()
    if args.prompt is not None:
        out["prompt"] = prompt_activations(lm, args.prompt, site=args.site, layer=args.layer, dim=args.dim).to_dict()
    return out


def _component_text(result: dict) -> str:
    lines = [f"{result['model']} {result['site']} layer {result['layer']} dim {result['dim']}"]
    if "writes" in result:
        w = result["writes"]
        for variant in ("normed", "raw"):
            for d in ("promotes", "suppresses"):
                lines.append(f"{d} ({variant}): " + ", ".join(f"{r['token']!r} {r['value']:+.3f}"
                                                              for r in w[f"{variant}_{d}"][:10]))
        lines.append(w["norms"])
    if "prompt" in result:
        p = result["prompt"]
        lines.append("activation per token:")
        lines += [f"  {i:>4} {t!r:>16} {a:+.4f}" for i, (t, a) in enumerate(zip(p["tokens"], p["activations"]))]
    return "\n".join(lines)


def to_text(result: dict) -> str:
    if "hook_site" not in result:
        return _component_text(result)
    lines = [f"{result['model']} {result['hook_site']} dim {result['dim']}: {result['samples']} samples of "
             f"{result['batch_size']}x{result['seq_len']} tokens from {result['corpus']}", "", "winners:"]
    lines += [f"  {w['count']:>6}  {w['fraction']:6.1%}  {w['token']!r}" for w in result["winners"][:20]]
    lines += ["", "strongest samples:"]
    lines += [f"  {t['activation']:10.4f}  {t['token']!r:>14}  {t['context']!r}" for t in result["top"]]
    return "\n".join(lines)
