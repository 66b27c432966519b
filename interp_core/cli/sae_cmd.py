"""`sae list|load|train`: the SAEs trained here, what an SAE id names and which site it reads, and training one."""
from __future__ import annotations

import sys

from interp_core.cli.main import add_model_args, load_from_args

ACTIONS = ("list", "load", "train")


def add_arguments(p):
    add_model_args(p)
    p.add_argument("action", choices=ACTIONS, help="list: SAEs trained here; load: check an SAE against the model; "
                                                   "train: a TopK SAE on one site")
    p.add_argument("--sae", default=None, help="load: a folder, a trained SAE's name, or a SAELens 'RELEASE/SAE_ID' "
                                               "(e.g. gemma-scope-2-270m-pt-res/layer_12_width_16k_l0_medium)")
    p.add_argument("--site", default="resid_post", help="train: resid_post, resid_pre, mlp_out or attn_out")
    p.add_argument("--layer", type=int, default=None, help="train: block index L (as in blocks.L.hook_resid_post)")
    p.add_argument("--latents", type=int, default=4096, help="train: number of latents")
    p.add_argument("--k", type=int, default=32, help="train: active latents per token (TopK)")
    p.add_argument("--corpus", default="builtin:looking-glass", help="train: file path, gutenberg:ID or builtin:NAME")
    p.add_argument("--epochs", type=int, default=1, help="train: passes over the training windows")
    p.add_argument("--max-tokens", type=int, default=None, help="train: use only the first N corpus tokens")
    p.add_argument("--seq-len", type=int, default=128, help="train: corpus tokens per window")
    p.add_argument("--batch-size", type=int, default=8, help="train: windows per forward pass")
    p.add_argument("--lr", type=float, default=1e-3, help="train: Adam learning rate")
    p.add_argument("--held-out", type=float, default=0.1, help="train: share of windows kept for the report")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default=None, help="train: save under this name (default: model-site-layer-size)")


def run(args) -> dict:
    from interp_core.errors import UserError
    from interp_core.features import attach, list_trained, load_sae
    from interp_core.features.store import trained_dir

    if args.action == "list":
        return {"folder": str(trained_dir()), "saes": list_trained()}
    if args.action == "load":
        if not args.sae:
            raise UserError("`sae load` needs --sae ID.")
        sae = load_sae(args.sae)
        out = {"sae": args.sae, "source": sae.source, "architecture": sae.architecture, "k": sae.k,
               "d_in": sae.d_in, "d_sae": sae.d_sae, "hook_name": sae.hook_name, "hook_name_out": sae.hook_name_out,
               "model": sae.model_name}
        if args.model is not None or not sae.model_name:
            lm = load_from_args(args)
            site, _ = attach(lm, args.sae)
            out.update(site=str(site), layer=site.layer, scan_site=f"sae:{args.sae}")
        return out
    from interp_core.data import load_corpus, tokenize_corpus
    from interp_core.features.train import plan, train_sae

    if args.layer is None:
        raise UserError("`sae train` needs --layer L.")
    corpus = load_corpus(args.corpus)
    lm = load_from_args(args)
    tc = tokenize_corpus(lm, corpus)
    from interp_core.estimates import estimate_s, fmt_seconds, record

    _, n, flops = plan(lm, tc, site=args.site, layer=args.layer, latents=args.latents, epochs=args.epochs,
                       max_tokens=args.max_tokens, seq_len=args.seq_len)
    print(f"Training on {n:,} tokens × {args.epochs} epoch(s); estimate: "
          f"{fmt_seconds(estimate_s(repr(lm.spec), 'sae_train', flops))}", file=sys.stderr)
    last = [-1.0]

    def progress(frac, msg):
        if frac - last[0] >= 0.02 or frac >= 1:
            last[0] = frac
            bar = "#" * int(frac * 30)
            print(f"[{bar:<30}] {frac:4.0%} {msg}", file=sys.stderr)

    rep = train_sae(lm, tc, site=args.site, layer=args.layer, latents=args.latents, k=args.k, epochs=args.epochs,
                    max_tokens=args.max_tokens, seq_len=args.seq_len, batch_size=args.batch_size,
                    held_out=args.held_out, lr=args.lr, seed=args.seed, name=args.name, progress=progress)
    record(repr(lm.spec), "sae_train", flops, rep.metrics["seconds"])
    return rep.to_dict()


def to_text(r: dict) -> str:
    if "saes" in r:
        lines = [f"SAEs trained here ({r['folder']}):"] + [
            f"  {s['id']}  {s['model']} {s['hook_name']} {s['architecture']} {s['d_sae']} latents k={s['k']}"
            for s in r["saes"]]
        return "\n".join(lines if r["saes"] else lines + ["  none yet: `python -m interp_core sae train --layer L`"])
    if "explained_variance" in r:
        keys = ("explained_variance", "l0", "dead_fraction", "clean_loss", "spliced_loss", "mean_ablated_loss",
                "loss_recovered", "train_tokens", "held_out_tokens", "seconds")
        return "\n".join([f"saved {r['name']} -> {r['path']}"] + [
            f"  {k:>18}: {r[k]:.4f}" if isinstance(r.get(k), float) else f"  {k:>18}: {r.get(k)}" for k in keys])
    return "\n".join(f"{k:>14}: {v}" for k, v in r.items())
