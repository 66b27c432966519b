"""Component views in a real browser on the embedded Gemma: a head-sweep cell opens that head's attention
pattern; a logit-lens cell opens the direct logit attribution at its position; a neuron shows what it writes
and its activation on a typed prompt, and a click on one of the top neurons there opens it."""
from __future__ import annotations

import re

import pytest
PlaywrightError = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").Error

from e2e_helpers import open_app, result_or_click, wait_idle

# pixel position (relative to the chart element) of point i of trace `curve` (any axis type)
_POINT_JS = """(el, [curve, i]) => {
  const gd = el.querySelector('.js-plotly-plot');
  const t = gd._fullData[curve];
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const box = gd.getBoundingClientRect(), outer = el.getBoundingClientRect();
  const x = Array.from(t.x)[i], y = Array.from(t.y)[i];
  return {x: box.left - outer.left + xa._offset + xa.l2p(xa.d2l(x)),
          y: box.top - outer.top + ya._offset + ya.l2p(ya.d2l(y)), vx: x, vy: y};
}"""


def _chart(page, title_text: str):
    """The chart whose title holds `title_text`, scrolled into view (Streamlit may redraw it meanwhile: retry)."""
    chart = page.get_by_test_id("stPlotlyChart").filter(has=page.locator(".gtitle", has_text=title_text)).first
    for attempt in range(5):
        try:
            chart.scroll_into_view_if_needed()
            chart.locator(".js-plotly-plot").wait_for()
            break
        except PlaywrightError:
            if attempt == 4:
                raise
            page.wait_for_timeout(1000)
    page.wait_for_timeout(600)
    return chart


def _click_point(page, chart, curve: int, i: int) -> dict:
    pt = chart.evaluate(_POINT_JS, [curve, i])
    box = chart.bounding_box()
    page.mouse.move(box["x"] + pt["x"], box["y"] + pt["y"])
    page.wait_for_timeout(300)
    page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])
    wait_idle(page)
    return pt


def _dismiss_not_found(page) -> None:
    if page.get_by_text("Page not found").count():
        page.keyboard.press("Escape")
        wait_idle(page)


def test_head_sweep_cell_opens_its_attention_pattern(page, server):
    open_app(page, server, "ablation", "ab_site=attn_out&ab_method=zero&ab_sweep=heads")
    _dismiss_not_found(page)
    page.get_by_role("tab", name="Sweeps").click()
    wait_idle(page)
    # the sweep starts by itself only when its estimate fits the page's budget: else press its button (waiting for
    # either, since a check made while the tab's rerun is still drawing sees neither)
    result_or_click(page, "Run sweep", "heads sweep ·")
    chart = _chart(page, "heads sweep")
    # overlay trace 1 holds one square per cell, row-major (layers × 4 heads): layer 5, head 2
    pt = _click_point(page, chart, 1, 5 * 4 + 2)
    assert (str(pt["vy"]), str(pt["vx"])) == ("5", "2")
    page.get_by_role("heading", name="Attention pattern of layer 5, head 2").wait_for()
    one = _chart(page, "Layer 5 head 2")
    title = one.locator(".gtitle").first.text_content()
    assert "L5" in title and ("sliding window" in title or "global" in title)
    # the hover token view: one query span per token, each holding the prompt shaded by attention
    view = page.locator(".lg-av").first
    view.wait_for()
    assert view.locator("span.q").count() == 10  # <bos> + 9 tokens of the Eiffel prompt
    view.locator("span.q").nth(9).hover()
    assert view.locator("span.q").nth(9).locator(".pop").is_visible()
    assert "Traceback" not in page.content()


def test_lens_cell_opens_dla_for_its_position(page, server):
    open_app(page, server, "logit_lens", "ll_target=%20Paris")
    _dismiss_not_found(page)
    page.get_by_role("tab", name="Direct logit attribution").wait_for()  # the open tab under the trajectory
    wf = _chart(page, "Direct logit attribution")
    assert "position 9" in wf.locator(".gtitle").first.text_content()  # the prediction at the last token first
    page.get_by_text("frozen at its value on the clean run").first.wait_for()
    heat = _chart(page, "Top-1")  if page.locator(".gtitle", has_text="Top-1").count() else None
    if heat is None:
        heat = page.get_by_test_id("stPlotlyChart").first
        heat.scroll_into_view_if_needed()
        page.wait_for_timeout(600)
    # overlay trace 1 of the lens heatmap: rows are hidden states (19), columns positions (10); click row 10, pos 4
    pt = _click_point(page, heat, 1, 10 * 10 + 4)
    assert int(pt["vx"]) == 4
    wf = _chart(page, "Direct logit attribution")
    page.wait_for_function("() => Array.from(document.querySelectorAll('.gtitle')).some("
                           "t => t.textContent.includes('at position 4'))", timeout=60_000)
    assert "ll_pos=4" in page.url
    # a head in the DLA head map opens its attention pattern
    # a click that lands while the section is still being redrawn is lost (a person clicks again): up to 3 tries
    for attempt in range(3):
        heads = _chart(page, "Per head")
        _click_point(page, heads, 0, 12 * 4 + 1)
        try:
            page.get_by_text(re.compile(r"Attention pattern of layer 12, head 1")).first.wait_for(timeout=60_000)
            break
        except PlaywrightError:
            if attempt == 2:
                raise
    assert "Traceback" not in page.content()


def test_neuron_writes_and_activation_on_a_typed_prompt(page, server):
    open_app(page, server, "neuron_explorer", "ne_site=mlp&ne_layer=2&ne_pdim=10")
    _dismiss_not_found(page)
    page.get_by_role("tab", name="On your own prompt").click()
    wait_idle(page)
    box = page.get_by_label("Your prompt")
    box.fill("Alice went through the looking-glass <b>quickly</b>.")
    box.press("Control+Enter")
    wait_idle(page)
    page.get_by_text("mlp L2 #10 on your prompt").first.wait_for()
    assert page.get_by_text("<b>quickly</b>", exact=False).count() or "&lt;b&gt;" in page.content()
    assert page.locator("b", has_text="quickly").count() == 0  # typed markup is shown, never rendered
    page.get_by_role("heading", name="What mlp L2 #10 writes").wait_for()
    page.locator("strong:visible", has_text="Promotes").first.wait_for()  # (the scan tab may hold hidden ones)
    page.locator("strong:visible", has_text="Suppresses").first.wait_for()
    # click the strongest neuron at the selected token: it opens (its prompt view and its writes)
    top = _chart(page, "click to open")
    pt = _click_point(page, top, 0, 0)
    opened = int(str(pt["vy"]).lstrip("#"))
    if opened == 10:  # the chosen neuron is already the strongest one: take the second
        pt = _click_point(page, top, 0, 1)
        opened = int(str(pt["vy"]).lstrip("#"))
    page.get_by_role("heading", name=f"What mlp L2 #{opened} writes").wait_for(timeout=180_000)
    wait_idle(page)
    page.get_by_text(f"mlp L2 #{opened} on your prompt").first.wait_for()
    page.wait_for_url(re.compile(rf"ne_pdim={opened}(&|$)"), timeout=60_000)  # published at the end of the run
    assert "Traceback" not in page.content()
