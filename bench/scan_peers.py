"""The layer scan against its two peers in ONE process, in rotated order: a bare HF forward stopped after the
layer with one hook, and nnsight 0.8 (`trace` + `save` + `tracer.stop()`) keeping the same running top-k.

Each round runs every way once over the same batches (default 6 batches of 8 x 256 tokens, layer-6 MLP neurons,
top-20, Gemma 3 270M float32); the order rotates every round so that a busy neighbour on a shared CPU hurts each
way alike. Reported: the median tokens per second of each way, the median of the per-round ratios, and the load
average before and after (the ratios are the result; absolute speeds depend on the load). Each way is timed by the
wall clock and by this process's CPU time (`time.process_time`, all its threads): on a CPU shared with other
work the wall clock also counts the time the others ran, the CPU time much less so.

    PYTHONPATH=. python bench/scan_peers.py --rounds 5 --json  # this checkout (not an installed copy)
    PYTHONPATH=/tmp/base python bench/scan_peers.py --json   # the same on another checkout's interp_core (an A/B)
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
BOOK = ROOT / "assets" / "corpora" / "through_the_looking_glass.txt"


def _running_topk(acts, state: dict, k: int = 20) -> None:
    """The per-batch top-k update a peer needs to answer the same question (values only)."""
    import torch
    acts = acts.float().reshape(-1, acts.shape[-1])
    v = torch.topk(acts, min(k, acts.shape[0]), dim=0).values
    state["v"] = v if "v" not in state else torch.topk(torch.cat([state["v"], v]), k, dim=0).values


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batches", type=int, default=6)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--layer", type=int, default=6)
    p.add_argument("--no-nnsight", action="store_true")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    import numpy as np
    import torch

    import interp_core
    from interp_core import load_model, make_spec
    from interp_core.data import Corpus, tokenize_corpus
    from interp_core.neurons import scan_layer

    load_before = os.getloadavg()
    lm = load_model(make_spec("gemma-3-270m", device="cpu", dtype="float32"))
    tc = tokenize_corpus(lm, Corpus.from_text(BOOK.read_text(encoding="utf-8"), BOOK.name, str(BOOK)))
    n_tokens = a.batches * a.batch * a.seq
    starts = np.arange(a.batches * a.batch, dtype=np.int64) * a.seq
    batches = [starts[i:i + a.batch] for i in range(0, len(starts), a.batch)]
    body = lm.model.model

    class Stop(Exception):
        pass

    def stop(*_):
        raise Stop

    def bare() -> None:
        handle = body.layers[a.layer].register_forward_hook(stop)
        try:
            with torch.inference_mode():
                for s in batches:
                    try:
                        body(input_ids=tc.batch(s, a.seq, lm.device), use_cache=False)
                    except Stop:
                        pass
        finally:
            handle.remove()

    def scan() -> None:
        scan_layer(lm, tc, site="mlp", layer=a.layer, top_k=20, seq_len=a.seq, batch_size=a.batch,
                   max_tokens=n_tokens, use_cache=False)

    ways = {"scan": scan, "bare_hf_stop": bare}
    if not a.no_nnsight:
        from nnsight import LanguageModel
        nm = LanguageModel(lm.model, tokenizer=lm.tokenizer)

        def nnsight_stop() -> None:
            state: dict = {}
            for s in batches:
                with nm.trace(tc.batch(s, a.seq, lm.device)) as tracer:
                    acts = nm.model.layers[a.layer].mlp.down_proj.input.save()
                    tracer.stop()
                _running_topk(acts, state)
        ways["nnsight_stop"] = nnsight_stop
    for fn in ways.values():  # warm-up: first calls allocate, import and trace
        fn()
    names = list(ways)
    tok_s: dict[str, list[float]] = {n: [] for n in names}
    tok_cpu_s: dict[str, list[float]] = {n: [] for n in names}
    for r in range(a.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            t, c = time.perf_counter(), time.process_time()
            ways[n]()
            tok_s[n].append(n_tokens / (time.perf_counter() - t))
            tok_cpu_s[n].append(n_tokens / (time.process_time() - c))
        print(f"round {r + 1}: " + ", ".join(f"{n} {tok_s[n][-1]:.0f} ({tok_cpu_s[n][-1]:.0f} per CPU s)"
                                            for n in names), file=sys.stderr, flush=True)
    out = {"code": str(Path(interp_core.__file__).parent), "tokens_per_way": n_tokens, "rounds": a.rounds, "threads": torch.get_num_threads(),
           "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
           "median_tok_s": {n: round(statistics.median(v)) for n, v in tok_s.items()},
           "tok_s": {n: [round(x) for x in v] for n, v in tok_s.items()}}
    out["scan_vs"] = {n: round(statistics.median(s / o for s, o in zip(tok_s["scan"], tok_s[n], strict=True)), 3)
                      for n in names if n != "scan"}
    out["median_tok_per_cpu_s"] = {n: round(statistics.median(v)) for n, v in tok_cpu_s.items()}
    out["scan_vs_by_cpu_time"] = {
        n: round(statistics.median(s / o for s, o in zip(tok_cpu_s["scan"], tok_cpu_s[n], strict=True)), 3)
        for n in names if n != "scan"}
    if a.json:
        print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
