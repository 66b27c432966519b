"""Helpers for the browser suite: start/stop the app server, wait for Streamlit runs, open a page."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
NAV_LINKS = '[data-testid="stSidebar"] a[data-testid^="stPageLink"]'  # app.py's page links (ui/sidebar.page_links)
STARTUP_S = 240  # first start may convert the Gemma cache (about a minute on 2 cores)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except Exception:  # noqa: BLE001 - not up yet
        return False


def start_server(tmp: Path, extra_env: dict[str, str] | None = None):
    """Start `streamlit run app.py` on a free port; returns (process, base url, log path)."""
    port = _free_port()
    log = tmp / f"streamlit-{port}.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "LOOKING_GLASS_WARMUP": "1",  # a real server warms its pages up (the test process itself does not)
           **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline and not _healthy(url):
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    if not _healthy(url):
        stop_server(proc)
        raise RuntimeError(f"streamlit did not become healthy:\n{log.read_text()[-3000:]}")
    return proc, url, log


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def wait_idle(pg, timeout_s: float = STARTUP_S) -> None:
    """Wait until Streamlit has finished the current run (no 'Running…' status widget)."""
    pg.wait_for_timeout(300)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.match(/Running|Stop/)",
        timeout=timeout_s * 1000, polling=250)
    pg.wait_for_timeout(200)


def open_app(pg, server: str, path: str = "", query: str = "") -> None:
    pg.goto(f"{server}/{path}{('?' + query) if query else ''}")
    pg.get_by_test_id("stSidebar").wait_for()
    wait_idle(pg)
    pg.get_by_text("layers · d_model").first.wait_for()  # the sidebar shows the loaded model


def result_or_click(pg, button: str, marker: str, timeout_s: float = 300) -> None:
    """Wait for `marker` (a run's result); when the page did not start the run by itself (its estimate was over
    the page's automatic budget, or it waits for a click), press `button` once."""
    pg.wait_for_function(
        "([m, b]) => document.body.innerText.includes(m) || Array.from(document.querySelectorAll('button'))"
        ".some(e => e.innerText.trim() === b)", arg=[marker, button], timeout=timeout_s * 1000)
    if not pg.get_by_text(marker).count():
        pg.get_by_role("button", name=button, exact=True).first.click()
        wait_idle(pg, timeout_s)
    pg.get_by_text(marker).first.wait_for(timeout=timeout_s * 1000)
