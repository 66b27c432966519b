"""Ablation playground in a real browser on the embedded Gemma: the Eiffel prompt, a layer sweep of
zero-ablated MLP outputs, and the chart / sentence that say which layers carry ' Paris'."""
from __future__ import annotations

import pytest

from e2e_helpers import NAV_LINKS, open_app, result_or_click, wait_idle

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

_BARS_JS = "(el) => { const t = el.querySelector('.js-plotly-plot')._fullData[0]; return [Array.from(t.x), Array.from(t.y)]; }"


def test_layer_sweep_on_eiffel_prompt(page, server):
    # reach the page through the sidebar navigation: the defaults are the Eiffel prompt, mlp_out, zero, layers
    open_app(page, server)
    page.locator(NAV_LINKS).filter(has_text="Ablation playground").first.click()
    wait_idle(page)
    page.get_by_role("heading", name="Ablation playground").first.wait_for()
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("The Eiffel Tower is located in the city of")
    page.get_by_role("tab", name="Sweeps").click()
    wait_idle(page)
    result_or_click(page, "Run sweep", "Layers that matter most for ' Paris'")
    found = page.get_by_text("Layers that matter most for ' Paris'").first
    found.wait_for()
    assert found.inner_text().split(": ", 1)[1].startswith(("layer 3", "layer 1"))
    chart = page.get_by_test_id("stPlotlyChart").filter(has_text="layers sweep").first
    chart.scroll_into_view_if_needed()
    chart.locator(".js-plotly-plot").wait_for()
    xs, ys = chart.evaluate(_BARS_JS)
    assert xs == list(range(18))
    worst = sorted(range(18), key=lambda i: ys[i])[:2]
    assert set(worst) == {1, 3} and ys[3] < -0.5
    assert "ab_sweep=layers" in page.url and "ab_site=mlp_out" in page.url
    assert "Traceback" not in page.content()
