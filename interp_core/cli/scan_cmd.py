"""`scan`: whole-layer scan — top-k activations and statistics of every neuron of a site (cached on disk)."""
from __future__ import annotations

import sys

from interp_core.engine.sites import NEURON_SITES
from interp_core.cli.main import add_model_args, load_from_args, resolve_sae_site


def add_arguments(p):
    add_model_args(p)
    p.add_argument("--corpus", default="builtin:looking-glass", help="file path, gutenberg:ID or builtin:NAME")
    p.add_argument("--layer", type=int, default=None,
                   help="layer L (resid: 0 = embeddings up to n_layers; mlp: a block index; see `info`)")
    p.add_argument("--layers", default=None,
                   help="several layers in one pass: 'all' or a list like 0,3,5 (each cached as its own scan; "
                        "the JSON then has values and corpus indices per layer, without context text)")
    p.add_argument("--site", choices=(*NEURON_SITES, "sae"), default="mlp",
                   help="sae: the latents of the SAE --sae (its layer is the SAE's)")
    p.add_argument("--sae", default=None, help="SAE id for --site sae: a folder, a trained SAE's name or 'RELEASE/SAE_ID'")
    p.add_argument("--top-k", type=int, default=20, help="activations kept per neuron")
    p.add_argument("--max-tokens", type=int, default=None, help="scan only the first N corpus tokens")
    p.add_argument("--seq-len", type=int, default=256, help="corpus tokens per window")
    p.add_argument("--batch-size", type=int, default=None,
                   help="windows per forward pass (default: 16 on the CPU, the largest that fits on a GPU)")
    p.add_argument("--ray", nargs="?", const="auto", default=None, metavar="auto|ADDRESS",
                   help="shard the scan over a Ray cluster ('auto': the local one, started if needed)")
    p.add_argument("--workers", type=int, default=None,
                   help="Ray actors (default: one per GPU of the cluster, else one per CPU)")
    p.add_argument("--no-cache", action="store_true", help="recompute even when a cached result exists")
    p.add_argument("--compile", choices=("auto", "on", "off"), default="auto",
                   help="torch.compile the blocks the scan does not hook (auto: LOOKING_GLASS_COMPILE, default off)")


def run(args) -> dict:
    from interp_core.data import load_corpus
    from interp_core.errors import UserError
    from interp_core.neurons import scan_layers
    from interp_core.data import tokenize_corpus

    if args.site == "sae" and args.layers is not None:
        raise UserError("An SAE reads one layer; give --sae without --layers.")
    if args.site != "sae" and (args.layer is None) == (args.layers is None):
        raise UserError("Give exactly one of --layer L or --layers all|0,3,5.")
    if args.workers is not None and args.ray is None:
        raise UserError("--workers needs --ray (the number of Ray actors).")
    corpus = load_corpus(args.corpus)
    lm = load_from_args(args)
    resolve_sae_site(args, lm)
    tc = tokenize_corpus(lm, corpus)
    last = [-1.0]

    def progress(frac, msg):
        if frac - last[0] >= 0.05 or frac >= 1:
            last[0] = frac
            print(f"[{frac:4.0%}] {msg}", file=sys.stderr)

    out = scan_layers(lm, tc, site=args.site, layers=[args.layer] if args.layers is None else args.layers,
                      top_k=args.top_k, seq_len=args.seq_len, batch_size=args.batch_size, max_tokens=args.max_tokens,
                      progress=progress, use_cache=not args.no_cache, ray=args.ray, workers=args.workers,
                      compile={"auto": None, "on": True, "off": False}[args.compile])
    if args.layers is None:
        res = out[args.layer]
        return {**res.to_dict(lm, tc), "cached": res.cached}
    return {"model": lm.spec.name, "site": args.site, "corpus": corpus.name,
            "layers": [{**res.to_dict(), "cached": res.cached} for res in out.values()]}


def to_text(result: dict) -> str:
    if "layers" in result:
        lines = [f"{result['model']} {result['site']}: {len(result['layers'])} layers of {result['corpus']}", "",
                 "layer  neurons    tokens  max(max)  cached"]
        for r in result["layers"]:
            mx = max((v for v in r["stats"]["max"] if v is not None), default=float("nan"))
            lines.append(f"{r['layer']:>5} {len(r['stats']['index']):>8} {r['n_tokens_scanned']:>9,} {mx:9.3f}  "
                         f"{'yes' if r['cached'] else 'no'}")
        return "\n".join(lines)
    lines = [f"{result['model']} {result['hook_site']}: {len(result['neurons'])} neurons over "
             f"{result['n_tokens_scanned']:,} tokens of {result['corpus']}" + (" (cached)" if result["cached"] else ""),
             "", "neuron       max      mean  top tokens"]
    best = sorted(result["neurons"], key=lambda n: -(n["max"] or 0))[:30]
    for n in best:
        toks = ", ".join(repr(t["token"]) for t in n["top"][:5])
        lines.append(f"{n['index']:>6} {n['max']:9.3f} {n['mean']:9.3f}  {toks}")
    return "\n".join(lines)
