"""`ablate`: clean vs ablated next-token prediction, generation, sweeps and self-repair, headless."""
from __future__ import annotations

import sys

from interp_core.errors import UserError
from interp_core.engine.sites import ABLATION_SITES
from interp_core.cli.main import add_model_args, load_from_args

METHODS = ("zero", "mean", "median", "noise", "scale", "patch")


def add_arguments(p):
    add_model_args(p)
    p.add_argument("--prompt", required=True, help="the clean prompt (BERT: include [MASK])")
    p.add_argument("--site", required=True, choices=(*ABLATION_SITES, "feature"),
                   help="feature: latents of the SAE --sae (its decoded change is subtracted, its error term kept)")
    p.add_argument("--sae", default=None, help="SAE id for --site feature (see `sae list`)")
    p.add_argument("--layer", type=int, default=None, help="block index (resid: 0..n_layers); not for embed")
    p.add_argument("--head", default="", help="head index or comma list for --site head (default: every head)")
    p.add_argument("--index", default="", help="comma-separated MLP neuron / SAE feature indices for --site neuron / feature")
    p.add_argument("--method", default="zero", choices=METHODS)
    p.add_argument("--scale", type=float, default=0.0, help="factor for --method scale")
    p.add_argument("--noise-std", type=float, default=1.0, help="σ as a multiple of the reference std (--method noise)")
    p.add_argument("--reference", default=None,
                   help="reference corpus for mean/median/noise: builtin:looking-glass, gutenberg:ID, a .txt path, "
                        "or 'prompt' for the prompt itself")
    p.add_argument("--budget", type=int, default=2000, help="reference tokens for mean/median/std (default 2000)")
    p.add_argument("--counterfactual", default=None, help="counterfactual prompt for --method patch")
    p.add_argument("--positions", default="all", help="all, last, or comma-separated prompt positions")
    p.add_argument("--target", default=None, help="target token, e.g. ' Paris' (with its leading space)")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--generate", type=int, default=0, help="greedy tokens to generate clean and ablated")
    p.add_argument("--sweep", choices=("layers", "heads", "scale"), default=None)
    p.add_argument("--scales", default="0,0.25,0.5,0.75,1,1.25,1.5,2,3", help="scale values for --sweep scale")
    p.add_argument("--self-repair", action="store_true", help="add direct vs total effect of the component")
    p.add_argument("--seed", type=int, default=0, help="noise seed")


def _progress(frac, msg):
    print(f"[{frac:4.0%}] {msg}", file=sys.stderr)


def run(args) -> dict:
    from interp_core.ablation import sweep, run_ablation
    from interp_core.data import Corpus, load_corpus
    from interp_core.ablation import ablation_from_text, parse_scales

    if args.site not in ("embed", "feature") and args.layer is None:
        raise UserError(f"--site {args.site} needs --layer.")
    if (args.site == "feature") != bool(args.sae):
        raise UserError("--site feature needs --sae ID." if args.sae is None else "--sae goes with --site feature.")
    if args.generate < 0 or args.top_k < 1:
        raise UserError("--generate must be ≥ 0 and --top-k ≥ 1.")
    scales = parse_scales(args.scales)
    ab = ablation_from_text(args.site, args.layer, args.method, heads=args.head, indices=args.index, scale=args.scale,
                            noise_std=args.noise_std, positions=args.positions, seed=args.seed, sae=args.sae)
    reference = None
    if args.reference:
        reference = (Corpus.from_text(args.prompt, "the prompt", "prompt") if args.reference == "prompt"
                     else load_corpus(args.reference))
    lm = load_from_args(args)
    if args.site == "feature" and args.layer is None:  # the SAE decides the layer
        from dataclasses import replace

        from interp_core.features import attach

        ab = replace(ab, layer=attach(lm, args.sae)[0].layer)
    common = dict(target=args.target, reference=reference, counterfactual=args.counterfactual, budget=args.budget,
                  progress=_progress)
    if args.sweep:
        if args.self_repair or args.generate:
            raise UserError("--self-repair and --generate are for a single ablation, not with --sweep.")
        return sweep(lm, args.prompt, ab, args.sweep, top_k=min(args.top_k, 10), scales=scales, **common).to_dict()
    return run_ablation(lm, args.prompt, ab, top_k=args.top_k, generate=args.generate, self_repair=args.self_repair,
                        **common).to_dict()


def _top(side) -> str:
    return ", ".join(f"{t['token']!r} {t['prob']:.3f}" for t in side["top"][:5])


def to_text(r: dict) -> str:
    if "records" in r:
        lines = [f"{r['model']} · {r['sweep']} sweep · {r['ablation']}", f"{'layer':>5} {'head':>4} {'scale':>6} "
                 f"{'KL':>8} {'Δp(target)':>11}  top after ablation"]
        for rec in r["records"]:
            d = rec["target_prob_delta"]
            top = rec["ablated"]["top"][0]
            lines.append(f"{'' if rec['layer'] is None else rec['layer']:>5} {'' if rec['head'] is None else rec['head']:>4} "
                         f"{'' if rec['scale'] is None else format(rec['scale'], 'g'):>6} {rec['kl']:>8.4f} "
                         f"{'' if d is None else format(d, '+.4f'):>11}  {top['token']!r} {top['prob']:.3f}")
        return "\n".join(lines)
    lines = [f"{r['model']} · {r['ablation']}", f"clean:   {_top(r['clean'])}", f"ablated: {_top(r['ablated'])}",
             f"KL(clean‖ablated) = {r['kl']:.4f} nats"]
    if r.get("target"):
        c, a = r["clean"], r["ablated"]
        lines.append(f"target {r['target']!r}: p {c['target_prob']:.4f} -> {a['target_prob']:.4f} "
                     f"(Δ {r['target_prob_delta']:+.4f}), rank {c['target_rank']} -> {a['target_rank']}")
    if r["clean"]["generation"]:
        lines.append("clean gen:   " + repr("".join(r["clean"]["generation"])))
        lines.append("ablated gen: " + repr("".join(r["ablated"]["generation"])))
        fd = r.get("first_divergence")
        lines.append("identical" if fd is None else f"first divergence at generated token {fd}")
    if "direct_effect" in r:
        ratio = "n/a" if r["ratio"] is None else f"{r['ratio']:.3f}"
        lines.append(f"self-repair on {r['target']!r}: direct {r['direct_effect']:+.4f}, total {r['total_effect']:+.4f}, "
                     f"total/direct {ratio}")
    return "\n".join(lines)
