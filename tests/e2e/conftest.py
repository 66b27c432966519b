"""Real-browser harness: one Streamlit server on the embedded Gemma 3 270M, driven by Debian's Chromium.

Skips cleanly when Playwright or Chromium is missing. Never runs `playwright install`: the browser
is the system one (CHROMIUM env var or /usr/bin/chromium).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from e2e_helpers import CHROMIUM, LAUNCH_ARGS, STARTUP_S, open_app, start_server, wait_idle  # noqa: E402,F401


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def playwright_api():
    pw = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with pw.sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_api):
    b = playwright_api.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="session")
def server(playwright_api, tmp_path_factory):
    """The app on the default model (embedded Gemma 3 270M); LG_E2E_URL reuses a server already running."""
    if os.environ.get("LG_E2E_URL"):
        yield os.environ["LG_E2E_URL"].rstrip("/")
        return
    srv = start_server(tmp_path_factory.mktemp("e2e"))
    yield srv.url
    srv.stop()
    text = srv.log.read_text(errors="replace")
    assert "Traceback" not in text, f"the server logged a traceback:\n{text[-4000:]}"


@pytest.fixture
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(STARTUP_S * 1000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not [e for e in errors if "ResizeObserver" not in e], f"JavaScript errors in the page: {errors}"


