"""Helpers for the browser suite: start/stop the app server, wait for Streamlit runs, open a page."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
NAV_LINKS = '[data-testid="stSidebar"] a[data-testid^="stPageLink"]'  # app.py's page links (ui/sidebar.page_links)
STARTUP_S = 240  # first start may convert the Gemma cache (about a minute on 2 cores)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except Exception:  # noqa: BLE001 - not up yet
        return False


def private_cache(tmp: Path) -> Path:
    """A fresh cache whose `models` links to the shared converted models (no copy; scans start uncached)."""
    shared = Path(os.environ.get("LOOKING_GLASS_CACHE") or Path.home() / ".cache" / "looking-glass")
    cache = tmp / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    if (shared / "models").is_dir():
        (cache / "models").symlink_to((shared / "models").resolve(), target_is_directory=True)
    return cache


@dataclass
class Server:
    """A `streamlit run app.py` process; `stats` is its LOOKING_GLASS_STATS_FILE (None when not asked for)."""

    proc: subprocess.Popen
    url: str
    log: Path
    stats: Path | None = None

    def rss(self) -> int:
        from ui.server_stats import rss_bytes

        return rss_bytes(self.proc.pid)

    def read_stats(self) -> dict:
        try:
            return json.loads(self.stats.read_text()) if self.stats else {}
        except (OSError, ValueError):
            return {}

    def wait_idle(self, timeout_s: float = 300, quiet_s: float = 3.0) -> bool:
        """Wait until no run is in progress (no hooks, no jobs, no warm-up) for quiet_s; False if that never happened.
        A leaked hook never goes away, so it is still seen after this."""
        end, quiet_since = time.monotonic() + timeout_s, None
        while time.monotonic() < end:
            s = self.read_stats()
            if s and s.get("hooks") == 0 and s.get("jobs") == 0 and not s.get("warmup"):
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= quiet_s:
                    return True
            else:
                quiet_since = None
            time.sleep(0.5)
        return False

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def start_server(tmp: Path, extra_env: dict[str, str] | None = None, *, stats: bool = False,
                 healthy_s: float = 60) -> Server:
    """Start `streamlit run app.py` on a free port, warming up like a real server; `stats`: the server writes its
    status file (hooks, jobs, warm-up) every second (load tests)."""
    port = free_port()
    log = tmp / f"streamlit-{port}.log"
    stats_file = tmp / "stats.json" if stats else None
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "LOOKING_GLASS_WARMUP": "1",  # a real server warms its pages up (the test process itself does not)
           **({"LOOKING_GLASS_STATS_FILE": str(stats_file)} if stats_file else {}), **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}", log, stats_file)
    deadline = time.time() + healthy_s
    while time.time() < deadline and not healthy(server.url):
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    if not healthy(server.url):
        server.stop()
        raise RuntimeError(f"streamlit did not become healthy:\n{log.read_text()[-3000:]}")
    return server


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
