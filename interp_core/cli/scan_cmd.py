"""`scan`: whole-layer scan — top-k activations and statistics of every neuron of a site (cached on disk)."""
from __future__ import annotations

import json
import sys

from interp_core.engine.sites import NEURON_SITES
from interp_core.cli.main import add_model_args, load_from_args, resolve_sae_site

SUMMARY_NEURONS = 10  # neurons per layer in the default output: the strongest by max activation
SUMMARY_TOP = 5  # top activations (with contexts) per neuron in the default output


def add_arguments(p):
    add_model_args(p)
    p.add_argument("--corpus", default="builtin:looking-glass", help="file path, gutenberg:ID or builtin:NAME")
    p.add_argument("--layer", type=int, default=None,
                   help="layer L (resid: 0 = embeddings up to n_layers; mlp: a block index; see `info`)")
    p.add_argument("--layers", default=None,
                   help="several layers in one pass: 'all' or a list like 0,3,5 (each cached as its own scan; "
                        "the JSON has one entry per layer, each shaped like a one-layer scan)")
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
    p.add_argument("--full", action="store_true",
                   help=f"print every neuron with its top activations and contexts (default: a summary of the "
                        f"{SUMMARY_NEURONS} strongest neurons per layer, {SUMMARY_TOP} activations each)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="write the full result as JSON to FILE (what --full prints) and print the summary")
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
    full = args.full or args.out is not None
    layers = {layer: _layer(res, lm, tc, None if full else _strongest(res)) for layer, res in out.items()}
    if args.out is not None:
        _write(args.out, _shape(args, lm, corpus, layers))
        if not args.full:
            layers = {layer: _summary(d) for layer, d in layers.items()}
    result = _shape(args, lm, corpus, layers)
    if not args.full:
        n = {d["n_neurons"] for d in layers.values()}
        result["summary"] = (f"the {SUMMARY_NEURONS} strongest of {max(n):,} neurons per layer (by max activation), "
                             f"{SUMMARY_TOP} top activations each; --full prints every neuron"
                             + (f", written to {args.out}" if args.out else ", --out FILE writes them to a file"))
    return result


def _strongest(res) -> list[int]:
    order = res.stats.sort_values("max", ascending=False, kind="stable")["index"]
    return [int(i) for i in order[:SUMMARY_NEURONS]]


def _layer(res, lm, tc, neurons) -> dict:
    """One layer in the one-layer schema: provenance, `neurons` (index, stats, top activations with contexts)."""
    d = res.to_dict(lm, tc, neurons=neurons)
    if neurons is not None:
        for n in d["neurons"]:
            n["top"] = n["top"][:SUMMARY_TOP]
    return {**d, "n_neurons": res.n_neurons, "cached": res.cached}


def _summary(d: dict) -> dict:
    best = sorted(d["neurons"], key=lambda n: -(n["max"] if n["max"] is not None else float("-inf")))
    return {**d, "neurons": [{**n, "top": n["top"][:SUMMARY_TOP]} for n in best[:SUMMARY_NEURONS]]}


def _shape(args, lm, corpus, layers: dict) -> dict:
    """One layer: the layer's dict itself; several: model, site, corpus and `layers` (each in the same schema)."""
    if args.layers is None:
        return layers[args.layer]
    return {"model": lm.spec.name, "site": args.site, "corpus": corpus.name, "layers": list(layers.values())}


def _write(path: str, result: dict) -> None:
    from interp_core.cli.main import _clean
    from interp_core.errors import UserError

    try:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(_clean(result), f, ensure_ascii=False)
    except OSError as e:
        raise UserError(f"Cannot write '{path}' ({e.strerror or e.__class__.__name__}).") from e


def to_text(result: dict) -> str:
    layers = result["layers"] if "layers" in result else [result]
    lines = []
    for r in layers:
        lines += [f"{r['model']} {r['hook_site']}: {r['n_neurons']:,} neurons over {r['n_tokens_scanned']:,} tokens "
                  f"of {r['corpus']}" + (" (cached)" if r["cached"] else ""), "", "neuron       max      mean  top tokens"]
        best = sorted(r["neurons"], key=lambda n: -(n["max"] or 0))[:30]
        for n in best:
            toks = ", ".join(repr(t["token"]) for t in n["top"][:5])
            lines.append(f"{n['index']:>6} {n['max']:9.3f} {n['mean']:9.3f}  {toks}")
        lines.append("")
    if "summary" in result:
        lines.append(f"Shown: {result['summary']}.")
    return "\n".join(lines).rstrip()
