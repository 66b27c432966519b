"""Every page as a new user meets it, in headless Chromium against one server on the embedded Gemma 3 270M.

Small parameters throughout (short prompts, a few samples, a 1,500-token scan) so the suite stays quick.
"""
from __future__ import annotations

import re
from urllib.parse import quote

from e2e_helpers import open_app, result_or_click, wait_idle

XSS = "<img src=x onerror=window.__xss=1> <script>window.__xss=2</script> Paris"


def no_errors(pg) -> None:
    errs = pg.get_by_test_id("stAlertContentError")
    texts = [errs.nth(i).inner_text() for i in range(errs.count())]
    assert not texts, texts
    assert "Traceback" not in pg.content()
    assert pg.evaluate("() => window.__xss") is None, "injected markup ran in the page"


def n_plots(pg, at_least: int = 1, timeout_s: float = 120.0) -> int:
    """Plotly charts on the page, waiting up to timeout_s for `at_least` of them (Streamlit loads the plotly
    bundle lazily, and a page's later charts may still be drawing while the warm-up runs)."""
    pg.locator(".js-plotly-plot").first.wait_for()
    waited = 0.0
    while pg.locator(".js-plotly-plot").count() < at_least and waited < timeout_s:
        pg.wait_for_timeout(500)
        waited += 0.5
    pg.wait_for_timeout(500)
    return pg.locator(".js-plotly-plot").count()


def plot_text(pg) -> str:
    return pg.evaluate("() => Array.from(document.querySelectorAll('.js-plotly-plot text')).map(t => t.textContent).join('|')")


def click(pg, name: str) -> None:
    pg.get_by_role("button", name=name).first.click()
    wait_idle(pg)


def test_logit_lens_runs_and_switches_method(page, server):
    open_app(page, server, "logit_lens", "ll_prompt=" + quote("The Eiffel Tower is in the city of"))
    result_or_click(page, "Run the logit lens", "Top-1 prediction at every layer and position")
    no_errors(page)
    assert n_plots(page, 3) >= 3  # lens heatmap, trajectory, next-token sweep
    assert page.get_by_text(re.compile(r"Method final-norm")).first.is_visible()
    page.get_by_test_id("stRadio").filter(has_text="Lens method").get_by_text("dot-product", exact=True).click()
    wait_idle(page)
    result_or_click(page, "Run the logit lens", "Method dot-product")
    assert "ll_method=dot-product" in page.url
    no_errors(page)


def test_logit_lens_renders_markup_as_text(page, server):
    open_app(page, server, "logit_lens", "ll_prompt=" + quote(XSS))
    result_or_click(page, "Run the logit lens", "Top-1 prediction at every layer and position")
    n_plots(page)
    no_errors(page)
    # the tokens come back as text in the heatmap's labels
    labels = plot_text(page)
    assert "script" in labels and "onerror" in labels, labels[:500]
    assert page.locator("img[src='x']").count() == 0


def test_neuron_explorer_seed_scan_and_click(page, server):
    q = "ne_site=mlp&ne_layer=1&ne_dim=5&ne_batch=2&ne_seq=32&ne_samples=3&ne_topk=5&ne_maxtok=1500&ne_stat=max"
    open_app(page, server, "neuron_explorer", q)
    page.get_by_role("tab", name="Seed method").click()
    wait_idle(page)
    result_or_click(page, "Run seed method", "distinct winning tokens in 3 samples")
    no_errors(page)
    page.get_by_role("tab", name="Layer scan").click()
    wait_idle(page)
    result_or_click(page, "Scan layer", "neurons of mlp_neurons.1")
    page.get_by_text(re.compile(r"2,048 neurons of mlp_neurons\.1")).first.wait_for()
    no_errors(page)
    # click the neuron with the highest max activation in the scan chart
    chart = page.locator("[class*='stPlotlyChart'] .js-plotly-plot, .stPlotlyChart .js-plotly-plot").filter(
        has=page.locator(".gtitle", has_text="click a point")).first
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    target = chart.evaluate("""gd => {
        const d = gd._fullData[0];  // decoded arrays (gd.data may hold base64 'bdata' from plotly.py 6)
        const xs = Array.from(d.x), ys = Array.from(d.y);
        let best = 0; ys.forEach((y, i) => { if (y > ys[best]) best = i; });
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
        return {neuron: xs[best], x: r.left + xa._offset + xa.l2p(xs[best]), y: r.top + ya._offset + ya.l2p(ys[best])};
    }""")
    assert target["neuron"] != 0, "pick a neuron other than the default so the click is what opens it"
    page.mouse.move(target["x"], target["y"])
    page.wait_for_timeout(300)
    page.mouse.click(target["x"], target["y"])
    wait_idle(page)
    page.get_by_role("heading", name=f"Neuron {int(target['neuron'])}").wait_for(timeout=60_000)
    assert f"ne_neuron={int(target['neuron'])}" in page.url
    assert page.get_by_text("Top contexts").first.is_visible()
    no_errors(page)


def test_distributions_prompt(page, server):
    open_app(page, server, "distributions", "ad_source=prompt&ad_prompt=" + quote("Alice went through the glass. " + XSS))
    result_or_click(page, "Measure", "Tokens measured")
    no_errors(page)
    assert n_plots(page) >= 1
    page.get_by_role("tab", name="Statistics").click()
    wait_idle(page)
    no_errors(page)


def test_ablation_and_sweep(page, server):
    q = "ab_prompt=" + quote("The Eiffel Tower is located in the city of") + "&ab_site=mlp_out&ab_layer=3&ab_method=zero&ab_gen=2"
    open_app(page, server, "ablation", q)
    result_or_click(page, "Run ablation", "KL(clean ‖ ablated)")
    page.get_by_text(re.compile(r"hooks left on the model: 0")).first.wait_for()
    no_errors(page)
    assert n_plots(page) >= 1
    page.get_by_role("tab", name="Sweeps").click()
    wait_idle(page)
    result_or_click(page, "Run sweep", "Layers that matter most")
    page.get_by_text(re.compile(r"layers sweep .* hooks left on the model: 0")).first.wait_for()
    page.get_by_text(re.compile(r"Layers that matter most")).first.wait_for()
    no_errors(page)


def test_two_users_at_once(browser, server):
    """Two browser contexts (two users) run different pages against the same server at the same time."""
    a_ctx, b_ctx = browser.new_context(), browser.new_context()
    try:
        a, b = a_ctx.new_page(), b_ctx.new_page()
        for pg in (a, b):
            pg.set_default_timeout(240_000)
        a.goto(f"{server}/logit_lens?ll_prompt=" + quote("Alice looked at the Red Queen and said"))
        b.goto(f"{server}/ablation?ab_prompt=" + quote("The capital of France is the city of")
               + "&ab_site=attn_out&ab_layer=2&ab_gen=0")
        result_or_click(b, "Run ablation", "KL(clean ‖ ablated)")
        result_or_click(a, "Run the logit lens", "Top-1 prediction at every layer and position")
        wait_idle(a)
        wait_idle(b)
        for pg in (a, b):
            no_errors(pg)
        n_plots(a)
        assert "Alice" in plot_text(a)
        assert "ll_prompt" not in b.url and "ab_prompt" not in a.url
    finally:
        a_ctx.close()
        b_ctx.close()
