"""Guarantee 4: a long job stops within two batches when the user presses stop, navigates away or reruns.

Streamlit cancels by raising StopException / RerunException inside the progress callback (the next
`bar.progress` call); every long backend job must let it through at once, leave no hooks, and give
threads and memory back.
"""
from __future__ import annotations

import gc
import threading

import psutil
import pytest
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData

from interp_core.data import Corpus

RSS_BOUND_MB = 60  # measured: a few MB of allocator noise after 12 cancelled jobs on the tiny models
PROMPT = "Alice was beginning to get very tired of sitting by her sister on the bank"
TEXT = ("Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do. "
        "The Eiffel Tower is located in the city of Paris. Before the first move, the Red Queen ran faster. ") * 12


def _jobs(lm):
    from interp_core.ablation import run_ablation, sweep
    from interp_core.distributions import activation_distributions, corpus_sample
    from interp_core.ablation import Ablation
    from interp_core.lens import compute_lens
    from interp_core.neurons import seed_method
    from interp_core.neurons import scan_layer
    from interp_core.data import tokenize_corpus

    tc = tokenize_corpus(lm, Corpus.from_text(TEXT), use_cache=False)
    return {
        "scan": lambda p: scan_layer(lm, tc, site="mlp", layer=1, top_k=3, seq_len=16, batch_size=2,
                                     use_cache=False, progress=p),
        "seed": lambda p: seed_method(lm, tc, site="mlp", layer=1, dim=0, batch_size=2, seq_len=16, samples=12,
                                      progress=p),
        "head sweep": lambda p: sweep(lm, PROMPT, Ablation("mlp_out", 0), "heads", progress=p),
        "generation": lambda p: run_ablation(lm, PROMPT, Ablation("mlp_out", 0), generate=8, progress=p),
        "distributions": lambda p: activation_distributions(lm, corpus_sample(lm, TEXT, 400, window=16),
                                                            batch_tokens=32, progress=p),
        "lens": lambda p: compute_lens(lm, PROMPT, progress=p),
    }


_FULL: dict[str, list[float]] = {}
JOBS = ["scan", "seed", "head sweep", "generation", "distributions", "lens"]


class _Passes:
    """Counts forward passes of the whole model (one per batch) with a plain pre-hook on the top module."""

    def __init__(self, lm):
        self.n = 0
        self.handle = lm.model.register_forward_pre_hook(lambda *a: setattr(self, "n", self.n + 1))

    def close(self):
        self.handle.remove()


@pytest.fixture(scope="module")
def lm(tiny_models):
    return tiny_models["gpt2"]


@pytest.mark.parametrize("stop", ["StopException", "RerunException"])
@pytest.mark.parametrize("job", JOBS)
def test_stops_within_two_batches(lm, job, stop):
    run = _jobs(lm)[job]
    if job not in _FULL:
        _FULL[job] = []
        run(lambda f, m: _FULL[job].append(f))  # full run: how many progress calls (batches) the job reports
    calls = _FULL[job]
    assert len(calls) >= 3, f"{job} reports progress only {len(calls)} times; too coarse to cancel"
    assert calls[-1] == pytest.approx(1.0) and calls == sorted(calls)
    passes = _Passes(lm)
    at = {}

    def progress(frac, msg):
        if frac >= calls[1]:  # the user presses stop while the second batch is reported
            at["passes"] = passes.n
            raise StopException() if stop == "StopException" else RerunException(RerunData())

    try:
        with pytest.raises((StopException, RerunException)):
            run(progress)
        extra = passes.n - at["passes"]
    finally:
        passes.close()
    assert extra <= 2, f"{job} ran {extra} more forward passes after being cancelled"
    assert lm.num_hooks() == 0


def test_threads_and_memory_return_to_baseline(lm):
    jobs = _jobs(lm)
    for run in jobs.values():  # warm up allocators and lazy imports
        run(None)
    gc.collect()
    threads, rss = threading.active_count(), psutil.Process().memory_info().rss
    for _ in range(2):
        for job in JOBS:
            def progress(frac, msg):
                if frac > 0.3:
                    raise StopException()
            with pytest.raises(StopException):
                jobs[job](progress)
    gc.collect()
    assert threading.active_count() == threads
    grown = (psutil.Process().memory_info().rss - rss) / 2**20
    assert grown < RSS_BOUND_MB, f"RSS grew by {grown:.1f} MB after 12 cancelled jobs"
    assert lm.num_hooks() == 0
