"""The background warm-up: once a model is prepared, compute what each page shows on its defaults (logit
lens, ablation comparison with generation, distributions, and the neuron explorer's layer scan, which goes
to the disk cache like every scan), so a page opened on its defaults draws a chart without waiting.

One daemon thread per model per process (started through ui.cache.warmup, an st.cache_resource); results go
into the process-wide store ui.runner reads with shared=True. LOOKING_GLASS_WARMUP=0 turns it off (tests
that measure a cold page).
"""
from __future__ import annotations

import logging
import os
import atexit
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

log = logging.getLogger("looking_glass")


def enabled() -> bool:
    return os.environ.get("LOOKING_GLASS_WARMUP", "1").strip().lower() not in ("0", "false", "no", "off")


def scan_defaults(lm) -> dict[str, Any]:
    """The neuron explorer's default layer scan (keyword arguments of scan_layer / cached_scan)."""
    from interp_core.engine.sites import CHOICES

    top = CHOICES["mlp"].top_layer(lm.info.n_layers)
    return dict(site="mlp", layer=min(2, top), top_k=20, seq_len=128, batch_size=8, max_tokens=6000)


@dataclass
class Job:
    slot: str
    inputs: Mapping[str, Any]
    compute: Callable[[], Any]
    cost: tuple[str, str, float] | None = None  # (model, kind, FLOPs): the run's time teaches ui.costs the rate
    done: threading.Event = field(default_factory=threading.Event)


class Warmup:
    """The default jobs of one model and the thread that runs them in turn."""

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self.thread: threading.Thread | None = None

    @classmethod
    def start(cls, lm, store) -> "Warmup":
        w = cls(_jobs(lm) if enabled() else [])
        if w.jobs:
            w.thread = threading.Thread(target=w._run, args=(store,), name=f"lg-warmup-{lm.info.name}", daemon=True)
            _THREADS.append(w.thread)
            w.thread.start()
        return w

    def _run(self, store) -> None:
        import time

        from interp_core.engine.scheduler import SHORT, job as scheduler_job

        from . import costs
        from .runner import fingerprint

        for job in self.jobs:
            if _STOP.is_set():  # the process is exiting: start nothing new
                job.done.set()
                continue
            try:
                t0 = time.perf_counter()
                with scheduler_job(SHORT) as j:  # an anonymous job: its waits for the model are not its work
                    result = job.compute()
                if job.cost is not None:
                    costs.record(*job.cost, time.perf_counter() - t0 - j.waited_s)
                if job.slot and result is not None:
                    store.put(job.slot, fingerprint(job.inputs), result, job.inputs)
            except Exception:  # noqa: BLE001 - a warm-up failure only means the page computes it itself
                log.warning("warm-up job %s failed", job.slot or "scan", exc_info=True)
            finally:
                job.done.set()
        from interp_core.engine.allocator import settle_heap

        settle_heap()  # the shared warm-up results live as long as the process

    def pending(self, slot: str, inputs: Mapping[str, Any]) -> Job | None:
        from .runner import fingerprint

        fp = fingerprint(inputs)
        for job in self.jobs:
            if job.slot == slot and not job.done.is_set() and fingerprint(job.inputs) == fp:
                return job
        return None


_STOP = threading.Event()
_THREADS: list[threading.Thread] = []


def running() -> int:
    """How many background warm-ups are still at work (server status: a load test measures after them)."""
    return sum(t.is_alive() for t in _THREADS)


@atexit.register
def _stop_at_exit() -> None:
    """Let a running warm-up job finish before the interpreter goes: a daemon thread killed inside a forward
    pass aborts the whole process at exit (std::terminate in a native frame)."""
    _STOP.set()
    for t in _THREADS:
        t.join(timeout=120)


def _jobs(lm) -> list[Job]:
    from interp_core.data import load_corpus

    from .sections import ablation_view as av
    from .sections import run_specs as rs

    jobs: list[Job] = []
    if lm.info.has_lm_head:
        lens_in = rs.lens_default_inputs(lm)
        jobs.append(Job("ll_lens", lens_in, lambda: rs.compute_lens_for(lm, lens_in), rs.lens_cost(lm, lens_in)))
        jobs.extend(_lens_page_jobs(lm, lens_in["prompt"]))
    corpus = load_corpus(rs.DIST_CORPUS)
    from interp_core.engine.sites import DIST_SITES

    dist_in = rs.dist_inputs(lm, "corpus", corpus.sha256, rs.DIST_TOKENS, DIST_SITES[0], True, 80)
    jobs.append(Job("ad", dist_in, lambda: rs.compute_dist_for(lm, dist_in, corpus), rs.dist_cost(lm, dist_in)))

    def scan():
        from interp_core.data import tokenize_corpus
        from interp_core.neurons import cached_scan, scan_layer

        tc = tokenize_corpus(lm, corpus)
        kw = scan_defaults(lm)
        if cached_scan(lm, tc, **kw) is None:
            scan_layer(lm, tc, **kw)  # written to the disk cache; the page reads it from there
    jobs.append(Job("", {"scan": repr(lm.spec)}, scan))
    if lm.info.has_lm_head:  # last: with generation it is the longest (until generation is KV-cached)
        ab_in = av.compare_inputs(lm, av.defaults(lm))
        jobs.append(Job("ab", ab_in, lambda: av.compute_compare(lm, ab_in), av.compare_cost(lm, ab_in)))
    return jobs


def _lens_page_jobs(lm, prompt: str) -> list[Job]:
    """The rest of the lens page's default view: attention patterns and, for decoders, the DLA of the last
    position (what the page opens on), so a crowd of new sessions does not compute them once each."""
    from interp_core import UserError
    from interp_core.components import check_dla_supported

    from .sections import attention as at
    from .sections import dla

    attn_in = at.patterns_inputs(lm, prompt)
    jobs = [Job("attn_patterns", attn_in, lambda: at.attention_patterns(lm, prompt))]
    try:
        check_dla_supported(lm)  # decoders only: the page's position is then the last one
    except UserError:
        return jobs
    dla_in = dla.dla_inputs(lm, prompt, len(lm.encode(prompt).tokens) - 1)
    jobs.append(Job("ll_dla", dla_in, lambda: dla.compute_dla(lm, dla_in)))
    return jobs


def wait_for_warmup(lm, slot: str, inputs: Mapping[str, Any], timeout_s: float = 300.0) -> None:
    """If the warm-up is still computing exactly this result, wait for it (with a spinner) instead of
    starting the same work a second time."""
    from .cache import warmup

    job = warmup(lm.spec, lm).pending(slot, inputs)
    if job is not None:
        with st.spinner("Preparing the default view in the background (once per server)…"):
            job.done.wait(timeout_s)


def wait_for_scan(lm, timeout_s: float = 180.0) -> None:
    """Wait for the warm-up's default layer scan if it is still running."""
    from .cache import warmup

    for job in warmup(lm.spec, lm).jobs:
        if job.slot == "" and not job.done.is_set():
            with st.spinner("Scanning the default layer of the built-in corpus in the background (once per server, "
                            "then cached on disk)…"):
                job.done.wait(timeout_s)
