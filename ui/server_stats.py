"""Opt-in server status for load tests and operators: with LOOKING_GLASS_STATS_FILE set, one daemon thread
rewrites that JSON file every second with the process's resident memory, the Looking Glass hooks still
registered on models in memory (0 whenever no run is in progress: a leak otherwise), the job queue and the
background warm-ups still running, and each workshop room's recent view changes with the times its followers'
runs showed them."""
from __future__ import annotations

import json
import os
import threading
import time
from functools import partial
from pathlib import Path

from interp_core.engine.scheduler import LONG_SLOTS, active_jobs
from interp_core.results import atomic_write

from . import warmup
from .rooms import REGISTRY

ENV = "LOOKING_GLASS_STATS_FILE"
_STARTED = threading.Lock()
_THREAD: list[threading.Thread] = []


def _write_text(text: str, path: Path) -> None:
    path.write_text(text)


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process from /proc (0 where /proc is missing)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def snapshot() -> dict:
    from interp_core.engine.model import LIVE_MODELS, live_hooks  # torch: only once the writer runs

    jobs = active_jobs()
    return {"time": time.time(), "pid": os.getpid(), "rss_bytes": rss_bytes(), "hooks": live_hooks(),
            "models": len(LIVE_MODELS), "jobs": len(jobs), "long_jobs": sum(k == "long" for k in jobs.values()),
            "long_queue": LONG_SLOTS.queued, "warmup": warmup.running(),
            "rooms": REGISTRY.delays()}


def start_stats_writer() -> None:
    """Start the writer once per process when LOOKING_GLASS_STATS_FILE is set; otherwise do nothing."""
    path = os.environ.get(ENV)
    if not path or _THREAD:
        return
    with _STARTED:
        if _THREAD:
            return
        target = Path(path)

        def loop() -> None:
            while True:
                atomic_write(target, partial(_write_text, json.dumps(snapshot())))
                time.sleep(1.0)
        t = threading.Thread(target=loop, name="looking-glass-stats", daemon=True)
        t.start()
        _THREAD.append(t)
