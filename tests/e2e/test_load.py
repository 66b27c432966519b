"""The load test at a small size (4 users for 1 minute on the real app and real Chromium): no errors,
no leaked hooks, no server traceback, and the server's memory not growing by more than 10 %.

It runs `python -m bench.load` in its own process: the browser suite's sync Playwright keeps an event loop running
in this one, where bench.load's asyncio loop cannot start."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from e2e_helpers import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.load


def test_load_four_users_one_minute(tmp_path):
    pytest.importorskip("playwright.async_api", reason="playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium is not installed at {CHROMIUM}")
    users = int(os.environ.get("LG_LOAD_USERS", "4"))
    minutes = float(os.environ.get("LG_LOAD_MINUTES", "1"))
    out = tmp_path / "load.json"
    proc = subprocess.run([sys.executable, "-m", "bench.load", "--users", str(users), "--minutes", str(minutes),
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    print(proc.stdout)
    assert out.exists(), f"bench.load wrote no report (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    report = json.loads(out.read_text())
    assert report["actions"] >= users, report
    assert report["errors"] == 0, (report["error_samples"], report.get("traceback_samples"))
    assert report["leaked_hooks"] == 0, report
    assert report["server_tracebacks"] == 0, "\n\n".join(report.get("traceback_samples", []))
    # growth is what a leak looks like; the allocator may hand memory back after the warm-up (a drop of 8-14 % seen)
    assert report["rss_change"] <= 0.10, f"server memory grew: {report['rss_start_mb']} -> {report['rss_end_mb']} MB"
    assert report["by_action"]["lens"]["n"] + report["by_action"]["ablation"]["n"] > 0, report["by_action"]
