"""Logit lens in a real browser on the embedded Gemma: Eiffel prompt, method switch, hover, script tokens."""
from __future__ import annotations

from e2e_helpers import open_app, result_or_click, wait_idle

_LAST_COLUMN_JS = """(el) => {
  const gd = el.querySelector('.js-plotly-plot');
  return {text: gd.data[0].text.map(r => r[r.length - 1]), title: gd.layout.title.text};
}"""


def _heatmap(page):
    page.keyboard.press("Escape")  # close a transient "Page not found" dialog from deep-link routing, if any
    chart = page.get_by_test_id("stPlotlyChart").first
    chart.locator(".js-plotly-plot").wait_for()
    page.wait_for_timeout(300)
    return chart


def test_paris_takes_over_and_methods_switch(page, server):
    open_app(page, server, "logit_lens")
    page.get_by_text("Top-1 prediction at every layer and position").wait_for()
    chart = _heatmap(page)
    got = chart.evaluate(_LAST_COLUMN_JS)
    assert got["text"][-4:] == ["␣Paris"] * 4, got
    assert "final-norm" in got["title"]
    page.get_by_text("Snap layer").first.wait_for()

    # hover a cell in the middle of the heatmap: its top-k list shows up
    chart.scroll_into_view_if_needed()
    box = chart.locator(".nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.move(box["x"] + box["width"] * 0.5 + 3, box["y"] + box["height"] * 0.5 + 3)
    page.locator(".hoverlayer .hovertext").first.wait_for(timeout=20_000)
    assert "p=" in page.locator(".hoverlayer .hovertext").first.text_content()

    page.get_by_test_id("stRadio").filter(has_text="Lens method").get_by_text("dot-product").click()
    wait_idle(page)
    result_or_click(page, "Run the logit lens", "Method dot-product")
    page.wait_for_function("() => document.querySelector('.js-plotly-plot').layout.title.text.includes('dot-product')",
                           timeout=240_000)
    assert "ll_method=dot-product" in page.url
    assert "Traceback" not in page.content()


def test_script_tokens_render_as_text(page, server):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_app(page, server, "logit_lens", "ll_prompt=%3Cscript%3Ealert(1)%3C%2Fscript%3E%20and%20then")
    result_or_click(page, "Run the logit lens", "Top-1 prediction at every layer and position")
    chart = _heatmap(page)
    labels = chart.evaluate("(el) => Array.from(el.querySelectorAll('.xtick text')).map(t => t.textContent)")
    assert any("<" in t for t in labels) and any("script" in t for t in labels), labels  # shown as text
    assert not dialogs
    assert not page.locator("script:text('alert(1)')").count()
