"""Issue 13 in CI: the load test at a small size (4 users for 1 minute on the real app and real Chromium):
no errors, no leaked hooks, no server traceback, and the server's memory flat within 10 %."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from e2e_helpers import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]


def test_load_four_users_one_minute(tmp_path):
    pytest.importorskip("playwright.async_api", reason="playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium is not installed at {CHROMIUM}")
    from bench.load import format_report, main_async, parse_args
    import asyncio

    users = int(os.environ.get("LG_LOAD_USERS", "4"))
    minutes = float(os.environ.get("LG_LOAD_MINUTES", "1"))
    report = asyncio.run(main_async(parse_args(["--users", str(users), "--minutes", str(minutes)])))
    print(format_report(report))
    assert report["actions"] >= users, report
    assert report["errors"] == 0, report["error_samples"]
    assert report["leaked_hooks"] == 0, report
    assert report["server_tracebacks"] == 0, report
    assert abs(report["rss_change"]) <= 0.10, f"server memory not flat: {report['rss_start_mb']} -> {report['rss_end_mb']} MB"
    assert report["by_action"]["lens"]["n"] + report["by_action"]["ablation"]["n"] > 0, report["by_action"]
