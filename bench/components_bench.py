"""Time to draw every attention pattern and the direct logit attribution for a 32-token prompt (warm model).

Measures the compute (one hooked forward for the patterns, one for the DLA) and the figures the pages draw
(head map, one enlarged head, the hover token view, the every-head grid, the DLA waterfall and head map).
Target: <= 2 s warm on this CPU for gemma-3-270m.

    python bench/components_bench.py [--model gemma-3-270m] [--device cpu] [--repeat 5] [--json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time


PROMPT = ("The Eiffel Tower is located in the city of Paris, and the Colosseum is located in the city of Rome; "
          "every summer, millions of visitors travel to see them")


def _prompt(lm, n_tokens: int) -> str:
    """The default text cut to exactly n_tokens tokens (special tokens included) where the tokenizer allows."""
    words = PROMPT.split(" ")
    for k in range(len(words), 0, -1):
        text = " ".join(words[:k])
        if len(lm.encode(text).tokens) <= n_tokens:
            return text
    return words[0]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="gemma-3-270m")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from interp_core import load_model, make_spec
    from interp_core.components import attention_patterns, direct_logit_attribution
    try:  # a GPU machine may have no plotly: then only the compute is timed
        from interp_core.plots.components import (attention_tokens_html, dla_heads_figure, dla_waterfall_figure,
                                                  head_map_figure, pattern_figure, pattern_grid_figure)
    except ImportError:
        head_map_figure = None

    lm = load_model(make_spec(args.model, device=args.device))
    prompt = _prompt(lm, args.tokens)
    n = len(lm.encode(prompt).tokens)

    def compute():
        return attention_patterns(lm, prompt), direct_logit_attribution(lm, prompt, None)

    def draw(ap, d):
        if head_map_figure is None:
            return
        head_map_figure(ap).to_plotly_json()
        pattern_figure(ap, ap.layers[-1], 0).to_plotly_json()
        attention_tokens_html(ap, ap.layers[-1], 0)
        pattern_grid_figure(ap).to_plotly_json()
        dla_waterfall_figure(d).to_plotly_json()
        dla_heads_figure(d).to_plotly_json()

    draw(*compute())  # warm: first-call costs (allocator, plotly validators) are not what a user waits for
    times = {"compute_s": [], "figures_s": [], "total_s": []}
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = compute()
        t1 = time.perf_counter()
        draw(*res)
        t2 = time.perf_counter()
        times["compute_s"].append(t1 - t0)
        times["figures_s"].append(t2 - t1)
        times["total_s"].append(t2 - t0)
    out = {"model": args.model, "device": str(lm.device), "tokens": n, "layers": lm.info.n_layers,
           "heads": lm.info.n_heads, "repeat": args.repeat,
           **{k: round(statistics.median(v), 4) for k, v in times.items()}, "target_s": 2.0,
           "figures_timed": head_map_figure is not None}
    out["meets_target"] = out["total_s"] <= out["target_s"]
    print(json.dumps(out) if args.json else
          f"{args.model} on {out['device']}, {n} tokens, {out['layers']}x{out['heads']} heads (median of {args.repeat}): "
          f"compute {out['compute_s']:.3f} s + figures {out['figures_s']:.3f} s = {out['total_s']:.3f} s "
          f"(target <= {out['target_s']:g} s)")
    return out


if __name__ == "__main__":
    main()
