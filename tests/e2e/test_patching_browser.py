"""'Which components matter?' in a real browser on the embedded Gemma: the attribution screen, a click on
one head's cell, and that head's exact patch shown beside its estimate."""
from __future__ import annotations

import re

from e2e_helpers import open_app, wait_idle

_POINT_JS = """(el, i) => {
  const gd = el.querySelector('.js-plotly-plot');
  const t = gd._fullData[0];
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const box = gd.getBoundingClientRect(), outer = el.getBoundingClientRect();
  const x = Array.from(t.x)[i], y = Array.from(t.y)[i];
  return {x: box.left - outer.left + xa._offset + xa.l2p(xa.d2l(x)),
          y: box.top - outer.top + ya._offset + ya.l2p(ya.d2l(y)), vx: x, vy: y};
}"""


def _metric_value(page, label: str) -> float:
    box = page.get_by_test_id("stMetric").filter(has_text=label).first
    box.wait_for()
    text = box.get_by_test_id("stMetricValue").inner_text()
    return float(re.sub(r"[^0-9eE+.\-−]", "", text).replace("−", "-"))


def test_attribution_click_shows_exact_patch(page, server):
    open_app(page, server, "ablation")
    page.get_by_role("tab", name="Which components matter?").click()
    wait_idle(page)
    page.get_by_role("button", name="Run attribution screen").click()
    wait_idle(page)
    chart = page.get_by_test_id("stPlotlyChart").filter(
        has=page.locator(".gtitle", has_text="Attribution estimate: head")).first
    chart.scroll_into_view_if_needed()
    chart.locator(".js-plotly-plot").wait_for()
    page.wait_for_timeout(600)
    # one square per head, row-major (18 layers × 4 heads): click layer 12, head 2
    pt = chart.evaluate(_POINT_JS, 12 * 4 + 2)
    assert (pt["vy"], pt["vx"]) == (12, 2)
    box = chart.bounding_box()
    page.mouse.move(box["x"] + pt["x"], box["y"] + pt["y"])
    page.wait_for_timeout(300)
    page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])
    wait_idle(page)
    est = _metric_value(page, "Estimate · head 12.2")
    exact = _metric_value(page, "Exact patch")
    assert est < -0.3 and exact < -0.3  # head 12.2 carries much of ' Paris' over ' Rome'
    link = page.get_by_role("link", name="Open this patch in the ablation playground")
    href = link.get_attribute("href")
    assert "ab_site=head" in href and "ab_heads=2" in href and "ab_layer=12" in href and "ab_method=patch" in href
    assert "Traceback" not in page.content()
