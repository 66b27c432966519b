"""Fair sharing of one model among many sessions: short interactive requests go ahead of long jobs.

A *job* is one run started by a session (`with job(kind, session=...)`, or a method marked
`@scheduled("long")`). Long jobs (scans, sweeps, grids) run batch by batch, one `lm.run` per batch, and
each forward pass takes the model's `PriorityLock`; a waiting short request (lens, single ablation,
attention, DLA) is handed the model before the next batch of any long job. Each session runs at most
one job: starting a new one cancels its previous one (at its next batch). A server can cap the long jobs
running at once (LOOKING_GLASS_MAX_LONG_JOBS); a queued job reports its place through its Progress.
"""
from __future__ import annotations

import contextvars
import functools
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from interp_core.errors import Cancelled
from interp_core.results import Progress
from interp_core.settings import load_settings

SHORT, LONG = "short", "long"
_PRIORITY = {SHORT: 0, LONG: 1}
REPORT_AFTER_S = 0.5  # a wait shorter than this is not worth a message
POLL_S = 0.2  # how often a waiter re-checks cancellation and reports its place


class JobCancelled(Cancelled):
    """The session started a newer run, so this one stops at its next batch."""


@dataclass(eq=False)
class Job:
    """One run of one session: its kind, its cancel flag and its progress callback (last fraction kept)."""

    session: str | None
    kind: str
    progress: Progress | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    fraction: float = 0.0
    waited_s: float = 0.0  # time blocked on a long-job slot or the model lock (not work: costs exclude it)

    @property
    def priority(self) -> int:
        return _PRIORITY[self.kind]

    def check(self) -> None:
        if self.cancelled.is_set():
            raise JobCancelled("Cancelled: this session started a newer run, which replaces this one.")

    def report(self, msg: str) -> None:
        if self.progress is not None:
            self.progress(self.fraction, msg)


_SESSION: contextvars.ContextVar[str | None] = contextvars.ContextVar("looking_glass_session", default=None)
_CURRENT: contextvars.ContextVar[Job | None] = contextvars.ContextVar("looking_glass_job", default=None)
_REGISTRY = threading.Lock()
_ACTIVE: dict[str, Job] = {}  # session -> its running job


def bind_session(session_id: str | None) -> None:
    """Name the session whose runs this thread/context makes (the app calls this every script run)."""
    _SESSION.set(session_id)


def current_job() -> Job | None:
    return _CURRENT.get()


def active_jobs() -> dict[str, str]:
    """session -> kind of its running job (for server status and tests)."""
    with _REGISTRY:
        return {s: j.kind for s, j in _ACTIVE.items()}


class _LongSlots:
    """At most `cap` long jobs at once per server (0 = no cap); waiters are served first come, first served."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._running = 0
        self._queue: list[Job] = []

    def acquire(self, job: Job) -> None:
        cap = load_settings().max_long_jobs
        with self._cond:
            if cap <= 0 or (self._running < cap and not self._queue):
                self._running += 1
                return
            self._queue.append(job)
        start = time.monotonic()
        try:
            while True:
                with self._cond:
                    place = self._queue.index(job) + 1
                    if place == 1 and self._running < load_settings().max_long_jobs:
                        self._queue.remove(job)
                        self._running += 1
                        job.waited_s += time.monotonic() - start
                        return
                    self._cond.wait(POLL_S)
                job.check()
                job.report(f"Queued: place {place} for a long-job slot ({cap} run at once on this server)")
        except BaseException:
            with self._cond:
                if job in self._queue:
                    self._queue.remove(job)
                self._cond.notify_all()
            raise

    def release(self) -> None:
        with self._cond:
            self._running -= 1
            self._cond.notify_all()

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._queue)


LONG_SLOTS = _LongSlots()


@contextmanager
def job(kind: str = SHORT, *, session: str | None = None, progress: Progress | None = None) -> Iterator[Job]:
    """Run the body as one job of `session` (default: the bound session; None = anonymous, e.g. the CLI).

    Nested inside a job of the same context, only the kind is raised (short -> long) for the body.
    """
    if kind not in _PRIORITY:
        raise ValueError(f"kind must be {SHORT!r} or {LONG!r}")
    cur = _CURRENT.get()
    if cur is not None:
        if progress is not None and cur.progress is None:
            cur.progress = progress
        if kind == LONG and cur.kind == SHORT:
            LONG_SLOTS.acquire(cur)
            cur.kind = LONG
            try:
                yield cur
            finally:
                cur.kind = SHORT
                LONG_SLOTS.release()
        else:
            yield cur
        return
    session = session if session is not None else _SESSION.get()
    new = Job(session, kind, progress)
    if session is not None:
        with _REGISTRY:
            prev = _ACTIVE.get(session)
            if prev is not None:
                prev.cancelled.set()
            _ACTIVE[session] = new
    token = _CURRENT.set(new)
    try:
        if kind == LONG:
            LONG_SLOTS.acquire(new)
        try:
            yield new
        finally:
            if new.kind == LONG:
                LONG_SLOTS.release()
    finally:
        _CURRENT.reset(token)
        if session is not None:
            with _REGISTRY:
                if _ACTIVE.get(session) is new:
                    del _ACTIVE[session]


def scheduled(kind: str) -> Callable:
    """Mark a method as one job of `kind`; its `progress=` keyword (if any) also carries queue messages."""
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            outer = kwargs.get("progress")
            box: list[Job] = []
            if outer is not None:
                def progress(frac, msg):
                    if frac is not None and box:
                        box[0].fraction = float(frac)
                    outer(frac, msg)
                kwargs["progress"] = progress
            with job(kind, progress=kwargs.get("progress")) as j:
                box.append(j)
                return fn(*args, **kwargs)
        return inner
    return wrap


class PriorityLock:
    """A reentrant lock (RLock's API) that, on release, hands itself to the best waiter: short before long,
    first come first served within a kind. Waiting honours the waiter's cancellation and reports its place."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._count = 0
        self._waiting: list[tuple[int, int, int]] = []  # (priority, arrival, thread id)
        self._arrivals = itertools.count()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        me = threading.get_ident()
        j = _CURRENT.get()
        with self._cond:
            if self._owner == me:
                self._count += 1
                return True
            if j is not None:
                j.check()
            if self._owner is None and not self._waiting:
                self._owner, self._count = me, 1
                return True
            if not blocking:
                return False
            entry = (j.priority if j is not None else 0, next(self._arrivals), me)
            self._waiting.append(entry)
        start = time.monotonic()
        try:
            return self._wait(entry, me, j, start, timeout)
        finally:
            if j is not None:
                j.waited_s += time.monotonic() - start

    def _wait(self, entry, me: int, j: Job | None, start: float, timeout: float | None) -> bool:
        try:
            while True:
                with self._cond:
                    if self._owner == me:
                        return True
                    left = None if timeout is None or timeout < 0 else timeout - (time.monotonic() - start)
                    if left is not None and left <= 0:
                        self._waiting.remove(entry)
                        return False
                    self._cond.wait(POLL_S if left is None else min(POLL_S, left))
                    if self._owner is None and min(self._waiting) == entry:  # defensive: never strand a waiter
                        self._waiting.remove(entry)
                        self._owner, self._count = me, 1
                    if self._owner == me:
                        return True
                    ahead = sum(1 for w in self._waiting if w < entry) + 1
                if j is not None:
                    j.check()
                    if time.monotonic() - start > REPORT_AFTER_S:
                        j.report(f"Waiting for the model: {ahead} request{'s' if ahead > 1 else ''} ahead of yours")
        except BaseException:
            self._abandon(entry)
            raise

    def _abandon(self, entry) -> None:
        """Leave the queue after an exception; if the lock was handed over meanwhile, pass it on."""
        with self._cond:
            if entry in self._waiting:
                self._waiting.remove(entry)
            elif self._owner == entry[2]:
                self._count = 1
                self._release_locked()

    def release(self) -> None:
        with self._cond:
            if self._owner != threading.get_ident():
                raise RuntimeError("cannot release un-acquired lock")
            self._release_locked()

    def _release_locked(self) -> None:
        self._count -= 1
        if self._count:
            return
        if self._waiting:
            best = min(self._waiting)
            self._waiting.remove(best)
            self._owner, self._count = best[2], 1
            self._cond.notify_all()
        else:
            self._owner = None

    def __enter__(self) -> PriorityLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)
