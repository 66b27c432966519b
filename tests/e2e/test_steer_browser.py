"""Steering in a real browser on the embedded Gemma: the playground's steering mode opens on its default
comparison (Love − Hate at block 6), α changes, a click on the α sweep opens that α's continuation, and the
neuron explorer's "steer with this neuron" leads to a steering result."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from e2e_helpers import open_app, result_or_click, wait_idle

# pixel position (relative to the chart element) of point i of trace 0 (a categorical x axis)
_POINT_JS = """(el, i) => {
  const gd = el.querySelector('.js-plotly-plot');
  const t = gd._fullData[0];
  const xa = gd._fullLayout['xaxis' + (t.xaxis || 'x').slice(1)], ya = gd._fullLayout['yaxis' + (t.yaxis || 'y').slice(1)];
  const box = gd.getBoundingClientRect(), outer = el.getBoundingClientRect();
  const x = Array.from(t.x)[i], y = Array.from(t.y)[i];
  return {x: box.left - outer.left + xa._offset + xa.l2p(xa.d2c(x)),
          y: box.top - outer.top + ya._offset + ya.l2p(ya.d2l(y)), label: x};
}"""


def _query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def _errors(page) -> list[str]:
    return [e.inner_text() for e in page.get_by_test_id("stAlert").all() if "failed" in e.inner_text()]


def test_default_comparison_alpha_change_and_sweep_click(page, server):
    open_app(page, server, "ablation", "ab_mode=Steer")
    if page.get_by_text("Page not found").count():
        page.keyboard.press("Escape")
        wait_idle(page)
    result_or_click(page, "Run steering", "Typical norm at resid_pre 6", timeout_s=900)  # behind the warm-up
    wait_idle(page)
    page.locator(".sv-gen-main-steered").first.wait_for()
    assert page.locator(".sv-gen-main-steered .sv-diff").count() > 0  # the default visibly changes the text
    steered = page.locator(".sv-gen-main-steered").first.inner_text()
    assert "love" in steered.lower(), steered

    alpha = page.get_by_label("α (strength)")
    alpha.fill("0")
    alpha.press("Enter")
    wait_idle(page)
    # computed at once, or (when the measured rate puts it over the automatic budget) after a click
    result_or_click(page, "Run steering", "add 0× typical norm", timeout_s=900)
    wait_idle(page)
    page.get_by_test_id("stMetric").filter(has_text="First divergence").get_by_text("none").wait_for()
    assert page.locator(".sv-gen-main-steered .sv-diff").count() == 0
    assert _query(page).get("sv_alpha") == "0.0", page.url

    result_or_click(page, "Run α sweep", "Click a point to see that α's continuation", timeout_s=900)
    chart = page.get_by_test_id("stPlotlyChart").filter(
        has=page.locator(".gtitle", has_text="Steering strength sweep")).first
    chart.scroll_into_view_if_needed()
    chart.locator(".js-plotly-plot").wait_for()
    page.wait_for_timeout(600)
    pt = chart.evaluate(_POINT_JS, 8)  # the last α of the default sweep (−0.4…+0.4, 9 values)
    box = chart.bounding_box()
    page.mouse.move(box["x"] + pt["x"], box["y"] + pt["y"])
    page.wait_for_timeout(300)
    page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])
    wait_idle(page)
    page.get_by_role("heading", name=f"α = {pt['label']}: clean vs steered").wait_for(timeout=60_000)
    assert _query(page).get("sv_pick") == pt["label"], page.url
    assert page.locator(".sv-gen-pick-steered").count() == 1
    assert not _errors(page), _errors(page)


def test_steer_with_this_neuron(page, server):
    open_app(page, server, "neuron_explorer")
    page.get_by_text("Top contexts").first.wait_for(timeout=900_000)
    neuron = int(re.search(r"Neuron (\d+)", page.get_by_role("heading", name=re.compile(r"^Neuron \d+")).first
                           .inner_text())[1])
    page.get_by_role("button", name="Steer with this neuron").click()
    wait_idle(page)
    page.get_by_role("heading", name="Ablation playground").first.wait_for(timeout=60_000)
    q = _query(page)
    assert q.get("ab_mode") == "Steer" and q.get("sv_src") == "neuron", page.url
    assert q.get("sv_neuron") == f"2:{neuron}" and q.get("sv_site") == "resid_post", page.url
    assert q.get("sv_prompt")
    result_or_click(page, "Run steering", "Typical norm at resid_post 2", timeout_s=900)
    page.get_by_text(re.compile(rf"direction: MLP neuron 2:{neuron} \(w_out\)")).first.wait_for()
    assert page.locator(".sv-gen-main-steered").count() == 1
    assert not _errors(page), _errors(page)
