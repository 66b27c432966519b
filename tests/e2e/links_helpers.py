"""Following the cross-page links of a workshop in Chromium, each in a fresh browser session: "Ablate here" from a
lens cell, "Ablate this neuron" from the layer scan, an outlier link into the neuron explorer, a sweep-bar pick and
a patching link. Used by tests/e2e/test_links_browser.py and bench/run.py (child `links`)."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

KL = "KL(clean ‖ ablated)"
WAITS = "Not started automatically"  # what a page says when a run waits for a click
# the page's text, chart titles and labels included (Plotly draws those as SVG text, outside innerText)
_SHOWN = ("(m) => document.body.innerText.includes(m) || Array.from(document.querySelectorAll("
          "'.js-plotly-plot text')).some(t => t.textContent.includes(m))")


# the middle of bar i of a chart's first trace, in pixels relative to the chart element
_BAR_JS = """(el, i) => {
  const gd = el.querySelector('.js-plotly-plot');
  const t = gd._fullData[0], xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const box = gd.getBoundingClientRect(), outer = el.getBoundingClientRect();
  const x = Array.from(t.x)[i], y = Array.from(t.y)[i] / 2;
  return {x: box.left - outer.left + xa._offset + xa.l2p(xa.d2l(x)),
          y: box.top - outer.top + ya._offset + ya.l2p(ya.d2l(y))};
}"""


def click_bar(pg, chart_title: str, i: int) -> None:
    """Click bar `i` of the chart whose title holds `chart_title` (as a user picks a sweep's bar)."""
    chart = pg.get_by_test_id("stPlotlyChart").filter(has=pg.locator(".gtitle", has_text=chart_title)).first
    chart.scroll_into_view_if_needed()
    chart.locator(".js-plotly-plot").wait_for()
    pg.wait_for_timeout(600)
    pt, box = chart.evaluate(_BAR_JS, i), chart.bounding_box()
    pg.mouse.move(box["x"] + pt["x"], box["y"] + pt["y"])
    pg.wait_for_timeout(300)
    pg.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])


def settle_sweep(pg) -> None:
    """The Sweeps tab with its layer sweep drawn (pressing Run sweep when the page waits for it)."""
    from tests.e2e.e2e_helpers import result_or_click

    result_or_click(pg, "Run sweep", "Layers that matter most")


@dataclass(frozen=True)
class Link:
    name: str
    start: str  # the page (path?query) the link is on; "" for a link that is a URL
    ready: str  # text that says the start page has drawn what holds the link
    follow: Callable | str  # a click on the start page, or the link's URL (path?query)
    result: str  # text that says the followed link's result is drawn
    button: str  # the button the target page would wait for instead
    prepare: Callable | None = None  # run on the start page before the clock starts (once `ready` shows)


LINKS = (
    Link("ablate_here", "logit_lens?ll_layer=8&ll_pos=7", "Cell: layer 8",
         lambda pg: pg.get_by_role("button", name="Ablate here").click(), KL, "Run ablation"),
    Link("ablate_this_neuron", "neuron_explorer", "Top contexts",
         lambda pg: pg.get_by_role("button", name="Ablate this neuron").click(), KL, "Run ablation"),
    Link("outlier_link", "distributions?ad_tab=Statistics", "Outlier dimensions",
         lambda pg: pg.get_by_test_id("stButton").filter(has_text="dim ").first.click(),
         "distinct winning tokens", "Run seed method"),
    Link("sweep_pick", "ablation?ab_tab=Sweeps&ab_sweep=layers", "Ablation playground",
         lambda pg: click_bar(pg, "layers sweep", 5), "zero at mlp_out 5 (all) · hooks left on the model",
         "Run this intervention", prepare=settle_sweep),
    Link("patching_link", "", "", "ablation?ab_tab=Which+components+matter%3F&pt_mode=exact&pt_grid=heads",
         "Exact patching: heads", "Run grid"),
)


def follow(browser, server: str, link: Link, timeout_s: float = 300) -> dict:
    """Follow one link in a new browser context; seconds from the click (or the URL's load) until its result is
    drawn, or until the page offered its run button instead (`clicked`: the result needed a click)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = ctx.new_page()
        pg.set_default_timeout(timeout_s * 1000)
        if link.start:
            pg.goto(f"{server}/{link.start}")
            pg.get_by_text(link.ready).first.wait_for()
            if link.prepare is not None:
                link.prepare(pg)
            pg.wait_for_timeout(1000)
        t0 = time.perf_counter()
        if isinstance(link.follow, str):
            pg.goto(f"{server}/{link.follow}")
        else:
            link.follow(pg)
        pg.wait_for_function(f"([m, w]) => ({_SHOWN})(m) || Array.from(document.querySelectorAll("
                             "'[data-testid=\"stAlert\"]')).some(e => e.innerText.includes(w))",
                             arg=[link.result, WAITS], timeout=timeout_s * 1000, polling=50)
        seconds = time.perf_counter() - t0
        shown = pg.evaluate(f"(m) => ({_SHOWN})(m)", link.result)
        return {"seconds": seconds, "clicked": not shown, "url": pg.url.split("/", 3)[-1]}
    finally:
        ctx.close()
