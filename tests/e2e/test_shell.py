"""The app frame in a real browser: home page loads the embedded model; a bad model id shows one error; a fresh
server's first visitor, on a deep link, sees only the app's own navigation and frame."""
from __future__ import annotations

import time

from e2e_helpers import NAV_LINKS, open_app, start_server, wait_idle

from ui.navigation import PAGES

TITLES = tuple(p.title for p in PAGES)  # Home, Neuron explorer, Logit lens, …, Lessons


def test_home_shows_loaded_model(page, server):
    open_app(page, server)
    side = page.get_by_test_id("stSidebar")
    assert "gemma" in side.inner_text().lower()
    assert "18 layers" in side.inner_text()
    ok = page.get_by_test_id("stAlertContentSuccess").first
    ok.wait_for()
    assert "gemma-3-270m" in ok.inner_text()
    for title in TITLES:  # waits: a rerun (the model arriving) may redraw the sidebar
        page.locator(NAV_LINKS).filter(has_text=title).first.wait_for(state="visible", timeout=60_000)


def test_first_visit_on_a_fresh_server_never_shows_the_pages_folder(browser, tmp_path):
    """Streamlit's legacy mode lists the files of pages/ ("app", "ablation", "home", ...) and runs a deep-linked
    page file without app.py until some session has run st.navigation; the first visitor must not see it."""
    srv = start_server(tmp_path)
    url = srv.url
    try:
        ctx = browser.new_context()
        page = ctx.new_page()
        page.goto(f"{url}/logit_lens")
        seen: set[str] = set()
        deadline = time.time() + 240
        while time.time() < deadline:
            links = page.evaluate(
                "(sel) => Array.from(document.querySelectorAll('[data-testid=stSidebarNav] a, ' + sel))"
                ".map(a => a.innerText.split('\\n').pop().trim())", NAV_LINKS)
            seen.update(links)
            if links and "layers · d_model" in page.get_by_test_id("stSidebar").inner_text():
                break
            page.wait_for_timeout(50)
        assert seen == set(TITLES), f"navigation entries seen during the first visit: {sorted(seen)}"
        page.get_by_role("heading", name="Logit lens").first.wait_for()
        assert page.url.split("?")[0].endswith("/logit_lens")
        ctx.close()
    finally:
        srv.stop()


def test_bad_model_id_shows_one_error(page, server):
    page.goto(f"{server}/?model=no-such-org/no-such-model")
    page.get_by_test_id("stSidebar").wait_for()
    wait_idle(page)
    alert = page.get_by_test_id("stAlertContentError").first
    alert.wait_for()
    text = alert.inner_text()
    assert "no-such-org/no-such-model" in text
    assert "Traceback" not in page.content()
    # the rest of the app still works: pick the embedded model again
    page.goto(f"{server}/?model=gemma-3-270m")
    page.get_by_text("layers · d_model").first.wait_for()
