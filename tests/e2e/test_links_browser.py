"""Workshop links in Chromium: every cross-page link that promises a result arrives with it, without a click
(each in a fresh browser session), and the prompt tab's "Top 10 at position" chart keeps its neuron labels as
categories. The link timings on an idle machine are bench/run.py's (child `links`)."""
from __future__ import annotations

import pytest

from e2e_helpers import open_app
from links_helpers import LINKS, follow


@pytest.mark.parametrize("link", LINKS, ids=[lk.name for lk in LINKS])
def test_a_followed_link_shows_its_result_without_a_click(browser, server, link):
    out = follow(browser, server, link)
    assert not out["clicked"], f"{link.name} waited for “{link.button}” instead of showing its result: {out}"


def test_top_neurons_chart_has_a_categorical_axis(page, server):
    open_app(page, server, "neuron_explorer", "ne_tab=On+your+own+prompt")
    chart = page.get_by_test_id("stPlotlyChart").filter(has_text="Top ").filter(has_text="at position").first
    chart.locator(".js-plotly-plot").wait_for()
    axis = chart.evaluate("(el) => { const l = el.querySelector('.js-plotly-plot')._fullLayout;"
                          " return {type: l.yaxis.type, ticks: (l.yaxis._vals || []).map(v => v.text)}; }")
    assert axis["type"] == "category", axis
    assert axis["ticks"] and all(t.startswith("#") for t in axis["ticks"]), axis
