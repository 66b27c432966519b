"""Neuron explorer in a real browser on the embedded Gemma: seed method, layer scan, click a neuron on the chart."""
from __future__ import annotations

from e2e_helpers import open_app, result_or_click, wait_idle

QUERY = "ne_site=mlp&ne_layer=2&ne_dim=10&ne_samples=5&ne_batch=2&ne_seq=32&ne_topk=5&ne_maxtok=2000"

# pixel position (relative to the chart element) of the highest point of the first trace
_TOP_POINT_JS = """(el) => {
  const gd = el.querySelector('.js-plotly-plot');
  const t = gd._fullData[0];  // the neuron trace with its arrays decoded
  let best = {x: t.x[0], y: t.y[0]};
  for (let i = 1; i < t.y.length; i++) { if (t.y[i] > best.y) best = {x: t.x[i], y: t.y[i]}; }
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const box = gd.getBoundingClientRect(), outer = el.getBoundingClientRect();
  return {index: best.x, x: box.left - outer.left + xa._offset + xa.l2p(best.x),
          y: box.top - outer.top + ya._offset + ya.l2p(best.y)};
}"""


def test_seed_scan_and_click_a_neuron(page, server):
    open_app(page, server, "neuron_explorer", QUERY)
    # Streamlit may show a "Page not found" modal on a direct deep link while st.navigation registers the
    # pages, although it then runs the right page; close it so the page is clickable.
    if page.get_by_text("Page not found").count():
        page.keyboard.press("Escape")
        wait_idle(page)
    page.get_by_text("Through the Looking-Glass").first.wait_for()  # the corpus says where it comes from
    page.get_by_role("tab", name="Seed method").click()
    wait_idle(page)
    result_or_click(page, "Run seed method", "distinct winning tokens in 5 samples")

    page.get_by_role("tab", name="Layer scan").click()
    wait_idle(page)
    result_or_click(page, "Scan layer", "2,048 neurons of mlp_neurons.2 over 2,000 tokens")

    chart = page.get_by_test_id("stPlotlyChart").filter(has_text="click a point").first
    chart.scroll_into_view_if_needed()
    chart.locator(".js-plotly-plot").wait_for()
    page.wait_for_timeout(500)
    pt = chart.evaluate(_TOP_POINT_JS)
    box = chart.bounding_box()
    page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])
    wait_idle(page)
    neuron = int(pt["index"])
    page.get_by_role("heading", name=f"Neuron {neuron}", exact=True).wait_for()
    assert f"ne_neuron={neuron}" in page.url
    ring = chart.evaluate("(el) => { const d = el.querySelector('.js-plotly-plot')._fullData; return d[1] && d[1].x[0]; }")
    assert ring == neuron  # the chart highlights the opened neuron
    page.get_by_text("Top contexts").first.wait_for()
    assert page.locator("span[title]").count() > 10  # the shaded context tokens
    assert "Traceback" not in page.content()
