"""Fair scheduling, measured in one process on the real model: the logit lens latency alone, and while 3 other
sessions scan the whole built-in book (uncached), with the lens as a short request (the scheduler's priority)
and, for comparison, as a long one (plain first-come-first-served between batches).

    python -m bench.fair_share [--model gemma-3-270m] [--n 5] [--json out.json]

Target: lens p95 with 3 scans <= 2x its solo p95. CPU or CUDA (--device)."""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time

from interp_core import load_model, make_spec
from interp_core.data import load_corpus, tokenize_corpus
from interp_core.engine.scheduler import LONG, SHORT, JobCancelled, job
from interp_core.lens import compute_lens
from interp_core.neurons import scan_layer

PROMPTS = ("The Eiffel Tower is located in the city of", "Alice walked through the looking glass into the",
           "The Queen said that the White Knight was", "Humpty Dumpty sat on a wall and then he",
           "The chess pieces in the garden began to", "Tweedledum and Tweedledee agreed to have a")


def p95(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def lens_times(lm, n: int, kind: str) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        with job(kind, session="lens-user"):
            compute_lens(lm, PROMPTS[i % len(PROMPTS)] + f" {i}")
        out.append(time.perf_counter() - t0)
    return out


def with_scans(lm, tc, n: int, kind: str, layers=(3, 9, 15)) -> tuple[list[float], int]:
    """Lens times while 3 sessions scan whole-book layers; the scans are cancelled afterwards (new job per session)."""
    started = threading.Barrier(len(layers) + 1)
    batches = [0] * len(layers)

    def scan(i, layer):
        def progress(f, m):
            batches[i] += 1
        with job(LONG, session=f"scanner-{i}"):
            started.wait()
            try:
                scan_layer(lm, tc, site="mlp", layer=layer, progress=progress, use_cache=False)
            except JobCancelled:
                pass
    threads = [threading.Thread(target=scan, args=(i, layer), daemon=True) for i, layer in enumerate(layers)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(2.0)  # the scans are under way
    times = lens_times(lm, n, kind)
    running = sum(t.is_alive() for t in threads)
    for i in range(len(layers)):  # a new job in each scanner's session cancels its scan at the next batch
        with job(SHORT, session=f"scanner-{i}"):
            pass
    for t in threads:
        t.join(120)
    return times, running


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="gemma-3-270m")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--n", type=int, default=5, help="lens runs per phase")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    import os

    from pathlib import Path

    from tests.e2e.e2e_helpers import private_cache

    # a private cache (scans stay uncached) whose models/ links to the converted models: no re-conversion
    os.environ["LOOKING_GLASS_CACHE"] = str(private_cache(Path(tempfile.mkdtemp(prefix="lg-fair-"))))
    lm = load_model(make_spec(args.model, device=args.device))
    tc = tokenize_corpus(lm, load_corpus("builtin:looking-glass"))
    compute_lens(lm, PROMPTS[0])  # warm
    solo = lens_times(lm, args.n, SHORT)
    prio, running_p = with_scans(lm, tc, args.n, SHORT)
    fifo, running_f = with_scans(lm, tc, args.n, LONG)
    r = {"model": args.model, "device": args.device, "n": args.n, "corpus_tokens": tc.n_tokens,
         "lens_solo_p95_s": p95(solo), "lens_solo_median_s": statistics.median(solo),
         "lens_with_3_scans_p95_s": p95(prio), "ratio": p95(prio) / p95(solo),
         "lens_as_long_with_3_scans_p95_s": p95(fifo), "ratio_without_priority": p95(fifo) / p95(solo),
         "scans_still_running": [running_p, running_f], "hooks_left": lm.num_hooks()}
    print(json.dumps(r, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=2)
    return r


if __name__ == "__main__":
    main()
