"""The background warm-up: one daemon thread per model per process computes each page's default jobs (lens with
its attention patterns and DLA, distributions, the default layer scan to the disk cache, the ablation comparison)
into the process-wide store, so a page opened on its defaults draws at once. LOOKING_GLASS_WARMUP=0 turns it off."""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .jobs.base import Cost, Key, PageJob, model_id
from .store import SessionResults, fingerprint

if TYPE_CHECKING:
    from interp_core import LoadedModel

log = logging.getLogger("looking_glass")


def enabled() -> bool:
    return os.environ.get("LOOKING_GLASS_WARMUP", "1").strip().lower() not in ("0", "false", "no", "off")


@dataclass
class Task:
    """One default result to compute: `slot` "" is the disk-cached scan (nothing kept in the store)."""

    slot: str
    inputs: Mapping[str, Any]
    compute: Callable[[], Any]
    cost: Cost | None = None  # the run's time teaches the estimator the rate
    done: threading.Event = field(default_factory=threading.Event)


def task(job: PageJob[Any, Any], lm: LoadedModel, key: Key) -> Task:
    return Task(job.slot, job.inputs(key), lambda: job.compute(lm, key), job.cost(lm, key))


class Warmup:
    """The default tasks of one model and the thread that runs them in turn."""

    def __init__(self, jobs: list[Task]) -> None:
        self.jobs = jobs
        self.thread: threading.Thread | None = None

    @classmethod
    def start(cls, lm: LoadedModel, store: SessionResults) -> Warmup:
        w = cls(_jobs(lm) if enabled() else [])
        if w.jobs:
            w.thread = threading.Thread(target=w._run, args=(store,), name=f"lg-warmup-{lm.info.name}", daemon=True)
            _THREADS.append(w.thread)
            w.thread.start()
        return w

    def _run(self, store: SessionResults) -> None:
        from interp_core import estimates
        from interp_core.engine.allocator import settle_heap
        from interp_core.engine.scheduler import SHORT
        from interp_core.engine.scheduler import job as scheduler_job

        for t in self.jobs:
            if _STOP.is_set():  # the process is exiting: start nothing new
                t.done.set()
                continue
            try:
                t0 = time.perf_counter()
                with scheduler_job(SHORT) as j:  # an anonymous job: its waits for the model are not its work
                    result = t.compute()
                if t.cost is not None:
                    estimates.record(t.cost.model, t.cost.kind, t.cost.flops, time.perf_counter() - t0 - j.waited_s)
                if t.slot and result is not None:
                    store.put(t.slot, fingerprint(t.inputs), result, t.inputs)
            except Exception:  # noqa: BLE001 - a warm-up failure only means the page computes it itself
                log.warning("warm-up job %s failed", t.slot or "scan", exc_info=True)
            finally:
                t.done.set()
        settle_heap()  # the shared warm-up results live as long as the process

    def pending(self, slot: str, inputs: Mapping[str, Any]) -> Task | None:
        fp = fingerprint(inputs)
        for t in self.jobs:
            if t.slot == slot and not t.done.is_set() and fingerprint(t.inputs) == fp:
                return t
        return None

    def scan(self) -> Task | None:
        """The default layer scan, while it is still running."""
        return next((t for t in self.jobs if t.slot == "" and not t.done.is_set()), None)


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


def _jobs(lm: LoadedModel) -> list[Task]:
    # here, not at the top: the sidebar imports this module (server status) before torch may be imported
    from interp_core import UserError
    from interp_core.components import check_dla_supported

    from .jobs.ablation import COMPARE
    from .jobs.attention import PATTERNS, patterns_key
    from .jobs.distributions import DIST
    from .jobs.dla import DLA, dla_key
    from .jobs.lens import LENS
    from .jobs.scan import warm_default_scan

    tasks: list[Task] = []
    if lm.info.has_lm_head:
        lens = LENS.defaults(lm)
        tasks.append(task(LENS, lm, lens))
        # the rest of the lens page's default view, so a crowd of new sessions does not compute it once each
        tasks.append(task(PATTERNS, lm, patterns_key(lm, lens.prompt)))
        try:
            check_dla_supported(lm)  # decoders only: the page's position is then the last one
            tasks.append(task(DLA, lm, dla_key(lm, lens.prompt, len(lm.encode(lens.prompt).tokens) - 1)))
        except UserError:
            pass
    tasks.append(task(DIST, lm, DIST.defaults(lm)))
    tasks.append(Task("", {"scan": model_id(lm)}, lambda: warm_default_scan(lm)))
    if lm.info.has_lm_head:  # last: with generation it is the longest
        tasks.append(task(COMPARE, lm, COMPARE.defaults(lm)))
    return tasks
