"""Driving a workshop room in Chromium: a presenter, N followers (one browser context each) and timestamps
taken inside each follower's page, so the delay of every follower is measured, not the order we poll them in.
Used by tests/e2e/test_rooms_browser.py and bench/room_delay.py."""
from __future__ import annotations

import os
import re
import time

from tests.e2e.e2e_helpers import NAV_LINKS, STARTUP_S, open_app

CODE = re.compile(r"room code\s+([0-9A-Z]{5}-[0-9A-Z]{5})")
VIEW = {"width": 1280, "height": 900}

# In the page: remember when the URL first matched and the marker text first showed (Date.now(), ms).
_WATCH = """([path, needle, marker]) => {
  window.__lgSeen = null;
  clearInterval(window.__lgWatch);
  window.__lgWatch = setInterval(() => {
    const q = decodeURIComponent(location.search.replace(/\\+/g, ' '));
    const plots = Array.from(document.querySelectorAll('.js-plotly-plot text')).map(t => t.textContent).join('|');
    if (location.pathname.endsWith(path) && q.includes(needle)
        && (document.body.innerText.includes(marker) || plots.includes(marker))) {
      window.__lgSeen = Date.now(); clearInterval(window.__lgWatch);
    }
  }, 15);
}"""


def new_page(browser, errors: list[str] | None = None, label: str = ""):
    ctx = browser.new_context(viewport=VIEW)
    pg = ctx.new_page()
    pg.set_default_timeout(STARTUP_S * 1000)
    if errors is not None:
        pg.on("pageerror", lambda e: errors.append(f"{label}: {e}"))
    return pg


def open_room(browser, server: str, errors: list[str] | None = None):
    """A presenter on the home page with ?present; returns (page, code as shown, e.g. 'K46WT-2P4RC')."""
    pres = new_page(browser, errors, "presenter")
    open_app(pres, server, "", "present")
    box = pres.get_by_text("room code").first
    box.wait_for()
    code = CODE.search(pres.get_by_test_id("stSidebar").inner_text()).group(1)
    return pres, code


def join(browser, server: str, code: str, n: int, errors: list[str] | None = None) -> list:
    """n followers opening ?follow=CODE, each in its own context; returns once every one follows."""
    pages = []
    for i in range(n):
        pg = new_page(browser, errors, f"follower {i}")
        pg.goto(f"{server}/?follow={code}")
        pages.append(pg)
    for pg in pages:
        pg.get_by_text("Following room").first.wait_for()
    return pages


def wait_count(pres, n: int, timeout_s: float = 60) -> None:
    pres.get_by_text(f"{n} following").first.wait_for(timeout=timeout_s * 1000)


def nav(pg, title: str) -> None:
    pg.locator(NAV_LINKS).filter(has_text=title).first.click()


def watch(pages: list, path: str, needle: str, marker: str) -> None:
    """Start each page's watcher: it notes when its URL path ends with `path`, its decoded query contains
    `needle` and its text contains `marker`."""
    for pg in pages:
        pg.evaluate(_WATCH, [path, needle, marker])


def seen_at(pages: list, timeout_s: float = 120) -> list[float]:
    """Wall-clock seconds at which each watched page showed the view (waits for all of them)."""
    out = []
    for pg in pages:
        pg.wait_for_function("() => window.__lgSeen !== null", timeout=timeout_s * 1000, polling=50)
        out.append(pg.evaluate("() => window.__lgSeen") / 1000.0)
    return out


def change_and_time(pres, followers: list, act, path: str, needle: str, marker: str,
                    timeout_s: float = 120) -> dict:
    """Run `act(pres)` (the presenter's change) and time when the presenter and every follower show it."""
    watch([pres, *followers], path, needle, marker)
    t0 = time.time()
    act(pres)
    shown = seen_at([pres, *followers], timeout_s)
    lags = [t - shown[0] for t in shown[1:]]
    return {"presenter_s": shown[0] - t0, "followers_s": [t - t0 for t in shown[1:]],
            "lag_after_presenter_s": lags}


def pick_radio(pg, group: str, option: str) -> None:
    pg.get_by_test_id("stRadio").filter(has_text=group).get_by_text(option, exact=True).click()


def on_view(pg, path: str, marker: str, timeout_s: float = 180) -> None:
    """Wait until `pg` shows the page at `path` with `marker` in its text (LG_SHOTS=DIR: a screenshot if not)."""
    try:
        pg.wait_for_function("(p) => location.pathname.endsWith(p)", arg=path, timeout=timeout_s * 1000)
        pg.get_by_text(marker).first.wait_for(timeout=timeout_s * 1000)
    except Exception:
        if os.environ.get("LG_SHOTS"):
            pg.screenshot(path=os.path.join(os.environ["LG_SHOTS"], f"fail-{int(time.time())}.png"), full_page=True)
        raise
