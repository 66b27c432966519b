"""Time to the first information flow graph (contributions + graph + figure) on a warm model, for the 10-token
default prompt and a 128-token prompt, with the process's peak memory after each and a plain forward of the same
prompt as the baseline (the machine is shared: compare ratios). Targets on the 2-core CPU with Gemma 3 270M:
<= 2 s warm for 10 tokens, <= 15 s for 128 tokens.

    python bench/flow_bench.py [--model gemma-3-270m] [--device cpu] [--repeat 3] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time

EIFFEL = "The Eiffel Tower is located in the city of"
LONG = ("Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do: "
        "once or twice she had peeped into the book her sister was reading, but it had no pictures or conversations "
        "in it, and what is the use of a book, thought Alice, without pictures or conversations? So she was "
        "considering in her own mind, as well as she could, for the hot day made her feel very sleepy and stupid, "
        "whether the pleasure of making a daisy-chain would be worth the trouble of getting up and picking the "
        "daisies, when suddenly a White Rabbit with pink eyes ran close by her. There was nothing so very remarkable "
        "in that; nor did Alice think it so very much out of the way to hear the Rabbit say to itself")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cut(lm, text: str, n_tokens: int) -> str:
    """The longest word prefix of `text` with at most n_tokens tokens (special tokens included)."""
    words = text.split(" ")
    lo, hi = 1, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(lm.encode(" ".join(words[:mid])).tokens) <= n_tokens:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])


def measure(lm, prompt: str, repeat: int) -> dict:
    import torch

    from interp_core.flow import flow_graph, information_flow
    from interp_core.plots.flow import flow_figure

    def sync() -> None:
        if lm.device.type == "cuda":
            torch.cuda.synchronize()

    ids = lm.encode(prompt).input_ids
    graph_s, forward_s = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        lm.run(ids, need_logits=False)
        sync()
        forward_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        g = flow_graph(information_flow(lm, prompt))
        flow_figure(g).to_plotly_json()
        sync()
        graph_s.append(time.perf_counter() - t)
    fwd, gr = statistics.median(forward_s), statistics.median(graph_s)
    return {"tokens": len(lm.encode(prompt).tokens), "graph_s": gr, "graph_all_s": graph_s, "forward_s": fwd,
            "graph_over_forward": gr / fwd, "edges": len(g.edges), "peak_mb": _peak_mb(),
            "load_avg": os.getloadavg()}


def run(model: str = "gemma-3-270m", device: str = "cpu", dtype: str = "float32", repeat: int = 3) -> dict:
    from interp_core import load_model, make_spec

    lm = load_model(make_spec(model, device=device, dtype=dtype))
    from interp_core.flow import information_flow

    information_flow(lm, EIFFEL)  # warm: the first pass pays for lazy initialisation
    out = {"model": model, "device": str(lm.device), "dtype": dtype, "peak_mb_loaded": _peak_mb()}
    out["t10"] = measure(lm, cut(lm, EIFFEL, 10), repeat)
    out["t128"] = measure(lm, cut(lm, LONG, 128), max(1, repeat - 1))
    out["targets"] = {"10 tokens <= 2 s warm": out["t10"]["graph_s"] <= 2.0,
                      "128 tokens <= 15 s": out["t128"]["graph_s"] <= 15.0}
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="gemma-3-270m")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    out = run(args.model, args.device, args.dtype, args.repeat)
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        for k in ("t10", "t128"):
            r = out[k]
            print(f"{r['tokens']:>4} tokens: first graph {r['graph_s']:.2f} s (forward alone {r['forward_s']:.2f} s, "
                  f"x{r['graph_over_forward']:.1f}), peak {r['peak_mb']:.0f} MB, load {r['load_avg'][0]:.1f}")
        for k, v in out["targets"].items():
            print(f"{'PASS' if v else 'MISS'}  {k}")
    return out


if __name__ == "__main__":
    main()
