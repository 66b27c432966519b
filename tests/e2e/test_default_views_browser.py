"""The live workshop experience in a real browser: every page opens on a chart without a click,
linked views (lens cell -> ablate here, scanned neuron -> ablate it, outlier -> neuron explorer) carry their
inputs in the URL, a copied ablation link reproduces its result, and out-of-range links are clamped with a
notice instead of starting huge runs."""
from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, quote, urlparse

import pytest

from e2e_helpers import open_app, result_or_click, wait_idle

PAGES = {"logit_lens": "Top-1 prediction at every layer and position", "ablation": "KL(clean ‖ ablated)",
         "flow": "Routes to",
         "distributions": "Tokens measured", "neuron_explorer": "Top contexts"}


def _errors(pg) -> list[str]:
    errs = pg.get_by_test_id("stAlertContentError")
    return [errs.nth(i).inner_text() for i in range(errs.count())]


def _query(pg) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(pg.url).query).items()}


@pytest.mark.parametrize("path", list(PAGES))
def test_page_opens_on_a_chart_without_a_click(page, server, path):
    open_app(page, server, path)
    page.get_by_text(PAGES[path]).first.wait_for(timeout=300_000)  # the first open may wait for the warm-up
    page.locator(".js-plotly-plot").first.wait_for()
    assert not _errors(page), _errors(page)
    # a warm open: a new browser session on the same server draws its chart from the kept result
    t0 = time.perf_counter()
    page.goto(f"{server}/{path}")
    page.get_by_text(PAGES[path]).first.wait_for(timeout=240_000)  # slow only on a machine that is busy
    page.locator(".js-plotly-plot").first.wait_for(timeout=240_000)
    print(f"warm open of {path}: first chart after {time.perf_counter() - t0:.1f} s")
    assert not page.get_by_text("Not started automatically").count()
    assert not _errors(page), _errors(page)


def _click_overlay_cell(pg, chart, row: int, col: int) -> None:
    """Click the clickable overlay (trace 1) of a heatmap at cell (row, col)."""
    chart.scroll_into_view_if_needed()
    pg.wait_for_timeout(500)
    xy = chart.locator(".js-plotly-plot").evaluate("""(gd, rc) => {
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
        return {x: r.left + xa._offset + xa.l2p(rc[1]), y: r.top + ya._offset + ya.l2p(rc[0])};
    }""", [row, col])
    pg.mouse.move(xy["x"], xy["y"])
    pg.wait_for_timeout(300)
    pg.mouse.click(xy["x"], xy["y"])
    wait_idle(pg)


def test_lens_cell_click_then_ablate_here(page, server):
    prompt = "The Eiffel Tower is located in the city of"
    open_app(page, server, "logit_lens")
    page.get_by_text("Top-1 prediction at every layer and position").wait_for(timeout=300_000)
    chart = page.get_by_test_id("stPlotlyChart").first
    chart.locator(".js-plotly-plot").wait_for()
    row, col = 8, 7  # layer 8's hidden state at position 7 ('␣located' … any cell that is not the default)
    _click_overlay_cell(page, chart, row, col)
    page.get_by_text(re.compile(rf"Cell: layer {row} · position {col}")).first.wait_for(timeout=60_000)
    q = _query(page)
    assert q.get("ll_pos") == str(col) and q.get("ll_layer") == str(row), page.url
    # the trajectory follows the clicked position
    traj = page.get_by_test_id("stPlotlyChart").filter(has_text="at position").first
    assert f"at position {col}" in traj.text_content()
    assert not _errors(page), _errors(page)

    page.get_by_role("button", name="Ablate here").click()
    wait_idle(page)
    page.get_by_role("heading", name="Ablation playground").first.wait_for(timeout=60_000)
    q = _query(page)
    assert q.get("ab_site") == "resid" and q.get("ab_layer") == str(row) and q.get("ab_pos_list") == str(col), page.url
    assert q.get("ab_prompt") == prompt
    result_or_click(page, "Run ablation", "KL(clean ‖ ablated)")
    page.get_by_text(re.compile(rf"zero at resid {row} \(positions {col}\)")).first.wait_for()
    assert not _errors(page), _errors(page)


def test_scanned_neuron_ablate_this_neuron(page, server):
    open_app(page, server, "neuron_explorer")
    page.get_by_text("Top contexts").first.wait_for(timeout=300_000)
    neuron = int(re.search(r"Neuron (\d+)", page.get_by_role("heading", name=re.compile(r"^Neuron \d+")).first
                           .inner_text())[1])
    page.get_by_role("button", name="Ablate this neuron").click()
    wait_idle(page)
    page.get_by_role("heading", name="Ablation playground").first.wait_for(timeout=60_000)
    q = _query(page)
    assert q.get("ab_site") == "neuron" and q.get("ab_index") == str(neuron) and q.get("ab_layer") == "2", page.url
    assert q.get("ab_prompt")
    result_or_click(page, "Run ablation", "KL(clean ‖ ablated)")
    page.get_by_text(re.compile(rf"zero at neuron 2 neuron {neuron} ")).first.wait_for()
    assert not _errors(page), _errors(page)


def test_outlier_link_opens_the_neuron_explorer(page, server):
    open_app(page, server, "distributions")
    page.get_by_text("Tokens measured").first.wait_for(timeout=300_000)
    page.get_by_role("tab", name="Statistics").click()
    wait_idle(page)
    link = page.get_by_test_id("stButton").filter(has_text=re.compile(r"dim \d+")).first
    dim = int(re.search(r"dim (\d+)", link.inner_text())[1])
    link.click()
    wait_idle(page)
    page.get_by_role("heading", name="Neuron explorer").first.wait_for(timeout=60_000)
    assert "Page not found" not in page.content()
    q = _query(page)
    assert q.get("ne_dim") == str(dim) and q.get("ne_site") == "resid", page.url
    assert page.get_by_label(re.compile(r"Dimension \(0–\d+\)")).input_value() == str(dim)
    assert not _errors(page), _errors(page)


def test_copied_ablation_url_reproduces_result(browser, server):
    q = ("ab_prompt=" + quote("The capital of France is the city of") + "&ab_target=" + quote(" Paris")
         + "&ab_site=attn_out&ab_layer=4&ab_method=zero&ab_gen=2")
    first = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = first.new_page()
        pg.set_default_timeout(300_000)
        open_app(pg, server, "ablation", q)
        result_or_click(pg, "Run ablation", "KL(clean ‖ ablated)")
        kl = pg.get_by_test_id("stMetric").filter(has_text="KL(clean").first.inner_text()
        copied = pg.url
    finally:
        first.close()
    second = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = second.new_page()
        pg.set_default_timeout(120_000)
        pg.goto(copied)
        pg.get_by_text("KL(clean ‖ ablated)").first.wait_for()  # no click: the same inputs' result is kept
        assert pg.get_by_test_id("stMetric").filter(has_text="KL(clean").first.inner_text() == kl
        assert "attn_out 4" in pg.content()
        # the sweeps tab round-trips too
        pg.get_by_role("tab", name="Sweeps").click()
        wait_idle(pg)
        assert "ab_tab=Sweeps" in pg.url
        result_or_click(pg, "Run sweep", "layers sweep")
        sweep_url = pg.url
        pg.goto(sweep_url)
        pg.get_by_text(re.compile(r"layers sweep · ")).first.wait_for()
        assert not _errors(pg), _errors(pg)
    finally:
        second.close()


def test_open_tabs_round_trip_through_the_url(page, server):
    """Only the open tab is drawn, and its name is in the URL: a click on another tab draws it and names it there,
    and that URL opened again shows the same tab."""
    open_app(page, server, "logit_lens")
    page.get_by_text(PAGES["logit_lens"]).first.wait_for(timeout=300_000)
    result_or_click(page, "Run the logit lens", "Sum of the parts")  # the open tab: direct logit attribution
    assert not page.locator(".gtitle", has_text="Heads by").count()  # a closed tab's chart is not drawn
    page.get_by_role("tab", name="Attention patterns").click()
    page.locator(".gtitle", has_text="Heads by").first.wait_for(timeout=120_000)
    wait_idle(page)
    assert _query(page).get("ll_view") == "Attention patterns"
    assert not page.locator(".gtitle", has_text="Direct logit attribution:").count()
    page.goto(page.url)  # the copied link
    page.locator(".gtitle", has_text="Heads by").first.wait_for(timeout=120_000)
    assert not _errors(page), _errors(page)
    open_app(page, server, "distributions", "ad_tab=" + quote("Between layers"))
    page.locator(".gtitle", has_text="R² between layers").first.wait_for(timeout=300_000)
    assert not page.locator(".gtitle", has_text="Histograms").count()
    assert not _errors(page), _errors(page)


def test_huge_link_values_are_clamped_and_do_not_start_work(page, browser, server):
    open_app(page, server, "distributions", "ad_tokens=999999999")
    page.get_by_text(re.compile(r"Link adjusted: \?ad_tokens=999,999,999 is outside 16–20,000")).first.wait_for()
    page.get_by_text("Not started automatically").first.wait_for()
    wait_idle(page)
    assert not page.get_by_text("Tokens measured").count()
    assert page.get_by_role("button", name="Measure").count()

    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})  # a fresh session opens the link
    try:
        pg = ctx.new_page()
        pg.set_default_timeout(240_000)
        open_app(pg, server, "neuron_explorer", "ne_layer=999")
        pg.get_by_text(re.compile(r"Link adjusted: \?ne_layer=999 is outside 0–17")).first.wait_for()
        wait_idle(pg)
        pg.wait_for_function("() => Array.from(document.querySelectorAll('[data-testid=stNumberInput]')).some("
                             "e => e.innerText.startsWith('Layer (0–17)') && e.querySelector('input').value === '17')",
                             timeout=30_000)
        assert "ne_layer=17" in pg.url
    finally:
        ctx.close()
