"""Fair scheduling. Short requests go ahead of a long job's next batch, each session runs one job
(a new one cancels the old), a server can cap long jobs, and a queued job is told its place."""
from __future__ import annotations

import threading
import time

import pytest

from interp_core.engine.scheduler import LONG, SHORT, JobCancelled, PriorityLock, active_jobs, job, scheduled

BATCH_S = 0.05


def fake_long_job(lock: PriorityLock, n_batches: int, log: list, name: str = "long", **job_kw) -> None:
    """A scan-like job: n batches, each one a separate hold of the model lock."""
    with job(LONG, **job_kw):
        for i in range(n_batches):
            with lock:
                log.append((name, i, time.monotonic()))
                time.sleep(BATCH_S)


def start(fn, *args, **kw) -> tuple[threading.Thread, list]:
    errors: list = []

    def run():
        try:
            fn(*args, **kw)
        except BaseException as e:  # noqa: BLE001 - reported to the test
            errors.append(e)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, errors


def wait_for(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def test_short_request_goes_before_waiting_long_batches():
    lock = PriorityLock()
    order: list[str] = []
    lock.acquire()  # a batch in flight
    waiters = []
    for name, kind in (("long-1", LONG), ("long-2", LONG), ("short", SHORT)):
        def take(name=name, kind=kind):
            with job(kind):
                with lock:
                    order.append(name)
        waiters.append(start(take)[0])
        n_waiting = len(waiters)
        wait_for(lambda n=n_waiting: lock.waiting == n)
    lock.release()
    for t in waiters:
        t.join(5)
    assert order == ["short", "long-1", "long-2"]


def test_short_latency_is_one_batch_while_a_long_job_runs():
    """The fake slow job: 40 batches of 50 ms; a short request waits at most about one batch, not the job."""
    lock = PriorityLock()
    log: list = []
    t, errors = start(fake_long_job, lock, 40, log)
    wait_for(lambda: len(log) >= 3)
    waits = []
    for _ in range(5):
        t0 = time.monotonic()
        with job(SHORT):
            with lock:
                waits.append(time.monotonic() - t0)
        time.sleep(0.02)
    t.join(10)
    assert not errors and len(log) == 40
    assert max(waits) < 4 * BATCH_S, waits  # the whole job is 2 s; a short one never waits for it


def test_two_long_jobs_take_turns_batch_by_batch():
    lock = PriorityLock()
    log: list = []
    t1, e1 = start(fake_long_job, lock, 6, log, "a")
    wait_for(lambda: len(log) >= 1)
    t2, e2 = start(fake_long_job, lock, 6, log, "b")
    t1.join(10), t2.join(10)
    names = [n for n, _, _ in log]
    assert not e1 and not e2 and sorted(names) == ["a"] * 6 + ["b"] * 6
    first_b = names.index("b")
    assert "a" in names[first_b + 1:], f"b ran to completion before a resumed: {names}"


def test_new_job_in_the_same_session_cancels_the_previous_one():
    lock = PriorityLock()
    log: list = []
    t, errors = start(fake_long_job, lock, 200, log, session="s1")
    wait_for(lambda: len(log) >= 2)
    assert active_jobs() == {"s1": LONG}
    with job(SHORT, session="s1"):
        with lock:
            pass
        assert active_jobs() == {"s1": SHORT}
    t.join(5)
    assert len(errors) == 1 and isinstance(errors[0], JobCancelled), errors
    assert len(log) < 200 and "newer run" in str(errors[0])
    assert active_jobs() == {}


def test_other_sessions_are_not_cancelled():
    lock = PriorityLock()
    log: list = []
    t, errors = start(fake_long_job, lock, 8, log, session="a")
    wait_for(lambda: len(log) >= 1)
    with job(SHORT, session="b"):
        with lock:
            pass
    t.join(5)
    assert not errors and len(log) == 8


def test_cancelled_waiter_leaves_the_queue_and_passes_the_lock_on():
    lock = PriorityLock()
    lock.acquire()
    got: list = []
    t, errors = start(lambda: job_then_lock(lock, got, "s"))
    wait_for(lambda: lock.waiting == 1)
    with job(SHORT, session="s"):  # cancels the queued one
        t.join(5)
        assert isinstance(errors[0], JobCancelled) and lock.waiting == 0
    lock.release()
    assert lock.acquire(timeout=1)  # nobody holds it
    lock.release()


def job_then_lock(lock, got, session):
    with job(LONG, session=session):
        with lock:
            got.append(1)


def test_long_job_cap_queues_and_reports_place(monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_MAX_LONG_JOBS", "1")
    lock = PriorityLock()
    log: list = []
    messages: list = []
    t1, e1 = start(fake_long_job, lock, 10, log, "first", session="u1")
    wait_for(lambda: len(log) >= 1)
    t2, e2 = start(fake_long_job, lock, 2, log, "second", session="u2",
                   progress=lambda f, m: messages.append((f, m)))
    t1.join(10), t2.join(10)
    assert not e1 and not e2
    names = [n for n, _, _ in log]
    assert names == ["first"] * 10 + ["second"] * 2, "the cap of one long job at a time was not kept"
    assert messages and all(f == 0.0 for f, _ in messages)
    assert "Queued: place 1 for a long-job slot" in messages[0][1]


def test_scheduled_marks_kind_and_nests():
    seen = []

    @scheduled(LONG)
    def scan(progress=None):
        from interp_core.engine.scheduler import current_job
        seen.append(current_job().kind)
        progress(0.5, "half")
        return "done"

    @scheduled(SHORT)
    def lens():
        from interp_core.engine.scheduler import current_job
        seen.append(current_job().kind)
        return scan(progress=lambda f, m: None)

    assert lens() == "done" and seen == [SHORT, LONG]


def test_rlock_api_reentrant_and_timeout():
    lock = PriorityLock()
    with lock:
        with lock:
            pass
        got = []
        t = threading.Thread(target=lambda: got.append(lock.acquire(timeout=0.1)))
        t.start(), t.join()
        assert got == [False] and lock.waiting == 0
    with pytest.raises(RuntimeError):
        lock.release()


def test_time_waiting_for_the_model_or_a_long_slot_is_counted_apart_from_work():
    """Costs record a run's working time: a lens queued behind another session's request must not teach the
    estimator that the model got slow (which then refused to auto-run the next lens under load)."""
    lock = PriorityLock()
    lock.acquire()  # another session's request in flight
    box: list = []

    def queued():
        with job(SHORT, session="waiter") as j:
            with lock:
                time.sleep(0.05)
            box.append(j.waited_s)
    t, errors = start(queued)
    wait_for(lambda: lock.waiting == 1)
    time.sleep(0.3)
    lock.release()
    t.join(5)
    assert not errors and box and 0.25 <= box[0] < 1.0
    with job(SHORT, session="alone") as j:  # no wait: nothing counted
        with lock:
            pass
    assert j.waited_s == 0.0
