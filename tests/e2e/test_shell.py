"""The app frame in a real browser: home page loads the embedded model; a bad model id shows one error."""
from __future__ import annotations

from e2e_helpers import open_app, wait_idle


def test_home_shows_loaded_model(page, server):
    open_app(page, server)
    side = page.get_by_test_id("stSidebar")
    assert "gemma" in side.inner_text().lower()
    assert "18 layers" in side.inner_text()
    ok = page.get_by_test_id("stAlertContentSuccess").first
    ok.wait_for()
    assert "gemma-3-270m" in ok.inner_text()
    for title in ("Neuron explorer", "Logit lens", "Activation distributions", "Ablation playground"):
        assert page.get_by_test_id("stSidebarNav").get_by_text(title).first.is_visible()


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
