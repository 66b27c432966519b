"""The flow figure: every kept edge and node is a clickable marker whose customdata decodes back to it."""
from __future__ import annotations

import numpy as np

from interp_core.flow import FlowContributions, flow_graph
from interp_core.plots.flow import clicked_flow, flow_figure


def _graph():
    rng = np.random.default_rng(1)
    n, t, h = 3, 5, 2
    attn = rng.random((n, t, t, h)) * np.tril(np.ones((t, t)))[None, :, :, None]
    resid = rng.random((n, t))
    tot = attn.sum((2, 3)) + resid
    c = FlowContributions("hand", ("a", "b", "a", "<c>", "d"), (attn / tot[..., None, None]).astype(np.float32),
                          (resid / tot).astype(np.float32), rng.random((n, t)).astype(np.float32),
                          np.zeros((n, t), np.float32), ("global",) * n, (None,) * n, 1, "nothing frozen")
    return flow_graph(c, token=-1, threshold=0.05)


def test_markers_carry_every_edge_and_node():
    g = _graph()
    fig = flow_figure(g)
    by_name = {tr.name: tr for tr in fig.data}
    edges = [tuple(cd) for cd in by_name["edges"].customdata]
    assert edges == [(e.kind, e.layer, e.source, e.destination) for e in g.edges]
    assert len(by_name["nodes"].customdata) == len(g.nodes)
    assert list(fig.layout.xaxis.ticktext)[:3] == ["0: a", "1: b", "2: a"]  # repeated tokens stay apart
    assert "&lt;c&gt;" in fig.layout.xaxis.ticktext[3]
    kinds = {tr.line.color for tr in fig.data if tr.mode == "lines"}
    assert "#1f77b4" in kinds  # attention edges in their own colour


def test_click_decodes_and_selection_is_outlined():
    g = _graph()
    e = next(e for e in g.edges if e.kind == "attn")
    event = {"selection": {"points": [{"curve_number": 3, "customdata": [e.kind, e.layer, e.source, e.destination]}]}}
    sel = clicked_flow(event)
    assert sel == ("attn", e.layer, e.source, e.destination)
    assert clicked_flow({"selection": {"points": [{"customdata": ["x", 1, 2, 3]}]}}) is None
    assert clicked_flow(None) is None
    fig = flow_figure(g, selected=sel)
    assert fig.data[-1].name == "selected"
    assert flow_figure(g, selected=("node:resid", 0, 2, 2)).data[-1].name == "selected"


def test_self_attention_marker_is_off_the_residual_marker():
    g = _graph()
    fig = flow_figure(g)
    tr = next(t for t in fig.data if t.name == "edges")
    points = [(round(x, 3), round(y, 3)) for x, y in zip(tr.x, tr.y)]
    assert len(set(points)) == len(points)  # every edge's marker has its own place (a click picks one edge)
