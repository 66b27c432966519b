"""`features`: which SAE features fire on a prompt — the top latents at every token and across the prompt."""
from __future__ import annotations

from interp_core.cli.main import add_model_args, load_from_args


def add_arguments(p):
    add_model_args(p)
    p.add_argument("--prompt", required=True, metavar="TEXT")
    p.add_argument("--sae", required=True, help="a folder, a trained SAE's name (`sae list`) or 'RELEASE/SAE_ID'")
    p.add_argument("--top", type=int, default=10, help="latents per token")
    p.add_argument("--overall", type=int, default=30, help="latents across the prompt")


def run(args) -> dict:
    from interp_core.features.prompt import prompt_features

    lm = load_from_args(args)
    return prompt_features(lm, args.prompt, args.sae, k=args.top, n_overall=args.overall).to_dict()


def to_text(r: dict) -> str:
    lines = [f"{r['model']} · SAE {r['sae']} (layer {r['layer']})", "", "across the prompt:",
             "  feature       max  active  strongest at"]
    lines += [f"  {o['feature']:>7} {o['max']:9.3f} {o['n_active']:>7}  {o['argmax_token']!r} ({o['argmax_position']})"
              for o in r["overall"][:20]]
    lines += ["", "per token:"]
    lines += [f"  {t['position']:>4} {t['token']!r:>14}  " + ", ".join(
        f"{f}:{v:.2f}" for f, v in zip(t["features"][:6], t["values"][:6])) for t in r["per_token"]]
    return "\n".join(lines)
