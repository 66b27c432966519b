"""Information flow page in a real browser on the embedded Gemma: it opens on the default prompt with the graph
drawn; a node opens the lens there, an attention edge its heads and a head's pattern, an MLP its neurons with a
link into the neuron explorer, and "Ablate this" the ablation playground with the result shown."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from e2e_helpers import open_app, result_or_click, wait_idle

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

# the pixel position of the first point of the trace named `name` whose customdata[0] is `what` (any, if null)
_FIND_JS = """(gd, [name, what]) => {
  const i = gd._fullData.findIndex(t => t.name === name);
  const t = gd._fullData[i];
  // an attention edge between two different tokens (what = 'attn'), else any marker of that kind
  const k = Array.from(t.customdata).findIndex(c => (what === null || c[0] === what) && (what !== 'attn' || c[2] !== c[3]));
  if (k < 0) return null;
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
  const x = Array.from(t.x)[k], y = Array.from(t.y)[k];
  return {x: r.left + xa._offset + xa.l2p(x), y: r.top + ya._offset + ya.l2p(y), cd: Array.from(t.customdata[k])};
}"""


def _query(pg) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(pg.url).query).items()}


def _graph(page):
    open_app(page, page.context.server, "flow", "fl_thr=0.04")
    page.get_by_text(re.compile(r"Routes to .*threshold")).first.wait_for(timeout=300_000)
    chart = page.get_by_test_id("stPlotlyChart").filter(has=page.locator(".gtitle", has_text="Routes to")).first
    chart.scroll_into_view_if_needed()
    chart.locator(".js-plotly-plot").wait_for()
    page.wait_for_timeout(600)
    return chart


def _click(page, chart, name: str, what: str | None) -> list:
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    pt = chart.locator(".js-plotly-plot").evaluate(_FIND_JS, [name, what])
    assert pt is not None, f"no {what} marker in {name}"
    page.mouse.move(pt["x"], pt["y"])
    page.wait_for_timeout(300)
    page.mouse.click(pt["x"], pt["y"])
    wait_idle(page)
    return pt["cd"]


def _click_top_head(page) -> int:
    """Click the tallest bar of the edge's share-per-head chart; returns that head."""
    heads = page.get_by_test_id("stPlotlyChart").filter(has=page.locator(".gtitle", has_text="share per head")).first
    heads.scroll_into_view_if_needed()
    page.wait_for_timeout(600)
    bar = heads.locator(".js-plotly-plot").evaluate("""(gd) => {
      const t = gd._fullData[0], ys = Array.from(t.y), k = ys.indexOf(Math.max(...ys));
      const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
      return {x: r.left + xa._offset + xa.l2p(k), y: r.top + ya._offset + ya.l2p(ys[k] / 2), k: k};
    }""")
    page.mouse.move(bar["x"], bar["y"])
    page.wait_for_timeout(300)
    page.mouse.click(bar["x"], bar["y"])
    wait_idle(page)
    return int(bar["k"])


@pytest.fixture
def flow_page(page, server):
    page.context.server = server
    return page


def test_node_opens_the_lens(flow_page):
    page = flow_page
    chart = _graph(page)
    cd = _click(page, chart, "nodes", "node:resid")  # the first node: the chosen token's last state
    page.get_by_role("heading", name=re.compile(r"^Residual at the last layer at 9")).wait_for(timeout=120_000)
    page.get_by_text("promotes", exact=True).first.wait_for()
    assert _query(page).get("fl_sel") == ":".join(str(x) for x in cd)
    page.get_by_test_id("stDataFrame").nth(2).wait_for(timeout=120_000)  # top, promotes, suppresses


def test_edge_opens_heads_and_a_head_pattern(flow_page):
    page = flow_page
    chart = _graph(page)
    what, layer, src, dst = _click(page, chart, "edges", "attn")
    page.get_by_role("heading", name=re.compile(rf"^Attention {layer}: ")).wait_for(timeout=120_000)
    head = _click_top_head(page)
    page.get_by_text(f"Layer {layer}, head {head}: its attention pattern").wait_for(timeout=120_000)
    page.get_by_test_id("stPlotlyChart").filter(has=page.locator(".gtitle", has_text=f"Layer {layer} head {head}")) \
        .first.wait_for()
    page.get_by_text(f"What head {head}'s output").first.wait_for(timeout=120_000)
    page.get_by_text("promotes", exact=True).first.wait_for(timeout=120_000)  # the head's tokens: the run is done
    page.wait_for_function("h => new URLSearchParams(location.search).get('fl_head') === h", arg=str(head),
                           timeout=60_000)
    assert _query(page).get("fl_head") == str(head)


def test_mlp_opens_the_neuron_explorer(flow_page):
    page = flow_page
    chart = _graph(page)
    _, layer, pos, _ = _click(page, chart, "nodes", "mlp")
    page.get_by_role("heading", name=re.compile(rf"^MLP {layer} at {pos}")).wait_for(timeout=120_000)
    button = page.get_by_role("button", name=re.compile(r"neuron \d+")).first
    neuron = int(re.search(r"neuron (\d+)", button.inner_text())[1])
    button.click()
    wait_idle(page)
    page.get_by_role("heading", name="Neuron explorer").first.wait_for(timeout=120_000)
    q = _query(page)
    assert q.get("ne_layer") == str(layer) and q.get("ne_pdim") == str(neuron) and q.get("ne_site") == "mlp", page.url
    page.get_by_text(f"What mlp L{layer} #{neuron} writes").first.wait_for(timeout=300_000)


def test_ablate_this_head_shows_the_result(flow_page):
    page = flow_page
    chart = _graph(page)
    what, layer, src, dst = _click(page, chart, "edges", "attn")
    page.get_by_role("heading", name=re.compile(rf"^Attention {layer}: ")).wait_for(timeout=120_000)
    head = _click_top_head(page)
    page.get_by_text(f"Layer {layer}, head {head}: its attention pattern").wait_for(timeout=120_000)
    page.get_by_role("button", name=re.compile("Ablate this head")).click()
    wait_idle(page)
    page.get_by_role("heading", name="Ablation playground").first.wait_for(timeout=60_000)
    q = _query(page)
    assert q.get("ab_site") == "head" and q.get("ab_layer") == str(layer) and q.get("ab_pos_list") == str(dst), page.url
    assert q.get("ab_heads") == str(head), page.url
    assert q.get("ab_prompt") == "The Eiffel Tower is located in the city of" and q.get("ab_target")
    result_or_click(page, "Run ablation", "KL(clean ‖ ablated)")
