"""The information flow graph as a Plotly figure: token positions across (one tick per position, labelled with its
token), layers up. Attention edges run diagonally from a source's residual state to a destination's state after
the attention block; MLP nodes sit on their position's column. Edge width and opacity follow the renormalised
share. Every node and every edge's midpoint is a marker whose customdata [what, layer, source, destination] a
click returns (decode it with `clicked_flow`)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import plotly.graph_objects as go

from interp_core.engine.sites import layer_label
from interp_core.flow import FlowGraph
from interp_core.plots.clickable import clicked_customdata
from interp_core.plots.lens import show_token

COLOURS = {"attn": "#1f77b4", "attn_resid": "#9a9a9a", "mlp": "#ff7f0e", "mlp_resid": "#9a9a9a",
           "resid": "#444444", "mid": "#9a9a9a"}
LEVEL = {"resid": 0.0, "mid": 0.5, "mlp": 0.75}  # a node's height above its layer
SELF = -0.18  # a token's attention to itself bends left of its column, off the residual line
BINS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.01)  # renormalised share bins: one trace (width, opacity) per bin and kind
CLICKABLE = ("node", "attn", "attn_resid", "mlp", "mlp_resid")


def _ends(e) -> tuple[tuple[float, float], tuple[float, float]]:
    if e.kind in ("attn", "attn_resid"):
        return (e.source, e.layer + LEVEL["resid"]), (e.destination, e.layer + LEVEL["mid"])
    return (e.source, e.layer + LEVEL["mid"]), (e.destination, e.layer + 1.0)


def flow_figure(g: FlowGraph, selected: tuple[str, int, int, int] | None = None) -> go.Figure:
    """The pruned graph of `g`; `selected` = (what, layer, source, destination) as `clicked_flow` returns it gets a
    crimson outline."""
    toks = g.tokens
    n = g.contributions.n_layers
    fig = go.Figure()
    for kind in ("attn_resid", "mlp_resid", "attn", "mlp"):  # residual lines under the block edges
        edges = [e for e in g.edges if e.kind == kind]
        for lo, hi in zip(BINS[:-1], BINS[1:]):
            xs: list[float | None] = []
            ys: list[float | None] = []
            for e in edges:
                if lo <= e.renormalised < hi:
                    (x0, y0), (x1, y1) = _ends(e)
                    if kind == "mlp":  # through the MLP node, offset to its column's right
                        xs += [x0, x0 + 0.25, x1, None]
                        ys += [y0, e.layer + LEVEL["mlp"], y1, None]
                    elif kind == "attn" and e.source == e.destination:
                        xs += [x0, x0 + SELF, x1, None]
                        ys += [y0, (y0 + y1) / 2, y1, None]
                    else:
                        xs += [x0, x1, None]
                        ys += [y0, y1, None]
            if xs:
                mid = (lo + hi) / 2
                fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                         name=f"{kind} edges", opacity=0.25 + 0.7 * min(mid, 1.0),
                                         line={"color": COLOURS[kind], "width": 1 + 8 * min(mid, 1.0)}))
    # clickable markers: every edge's midpoint, then nodes (drawn last, on top)
    ex, ey, ecustom, etext, ecolour = [], [], [], [], []
    for e in g.edges:
        x, y = _marker(e, len(toks))
        ex.append(x)
        ey.append(y)
        ecustom.append([e.kind, e.layer, e.source, e.destination])
        head = f" (top head {e.top_head})" if e.kind == "attn" else ""
        what = {"attn": f"attention {show_token(toks[e.source])} → {show_token(toks[e.destination])}",
                "attn_resid": f"residual through attention at {show_token(toks[e.destination])}",
                "mlp": f"MLP at {show_token(toks[e.destination])}",
                "mlp_resid": f"residual past the MLP at {show_token(toks[e.destination])}"}[e.kind]
        etext.append(f"L{e.layer} {what}: share {e.share:.3f}, renormalised {e.renormalised:.3f}{head}")
        ecolour.append(COLOURS[e.kind])
    fig.add_trace(go.Scatter(x=ex, y=ey, mode="markers", name="edges", showlegend=False, customdata=ecustom,
                             hovertext=etext, hovertemplate="%{hovertext}<extra></extra>",
                             marker={"size": 9, "color": ecolour, "opacity": 0.35, "symbol": "diamond"},
                             selected={"marker": {"opacity": 0.35}}, unselected={"marker": {"opacity": 0.35}}))
    nx, ny, ncustom, ntext, ncolour, nsymbol, nsize = [], [], [], [], [], [], []
    for nd in g.nodes:
        nx.append(nd.position + (0.25 if nd.kind == "mlp" else 0.0))
        ny.append(nd.layer + LEVEL[nd.kind])
        ncustom.append(["mlp" if nd.kind == "mlp" else f"node:{nd.kind}", nd.layer, nd.position, nd.position])
        where = {"resid": f"residual entering layer {nd.layer}" if nd.layer < n else "final residual",
                 "mid": f"residual after attention {nd.layer}", "mlp": f"MLP {nd.layer}"}[nd.kind]
        ntext.append(f"{where} at {nd.position}: {show_token(toks[nd.position])} (click to inspect)")
        ncolour.append(COLOURS[nd.kind] if nd.kind != "mlp" else COLOURS["mlp"])
        nsymbol.append("square" if nd.kind == "mlp" else "circle")
        nsize.append(13 if nd.kind == "mlp" else 11 if nd.kind == "resid" else 7)
    fig.add_trace(go.Scatter(x=nx, y=ny, mode="markers", name="nodes", showlegend=False, customdata=ncustom,
                             hovertext=ntext, hovertemplate="%{hovertext}<extra></extra>",
                             marker={"size": nsize, "color": ncolour, "symbol": nsymbol, "line": {"width": 0}},
                             selected={"marker": {"opacity": 1}}, unselected={"marker": {"opacity": 1}}))
    if selected is not None:
        pos = _selected_xy(g, selected)
        if pos is not None:
            fig.add_trace(go.Scatter(x=[pos[0]], y=[pos[1]], mode="markers", name="selected", showlegend=False,
                                     hoverinfo="skip", marker={"symbol": "circle-open", "size": 20,
                                                               "color": "crimson", "line": {"width": 3}}))
    t = len(toks)
    fig.update_layout(
        height=max(320, 36 * (n + 1) + 140), margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title=f"Routes to {show_token(toks[g.token])} (position {g.token}), threshold {g.threshold:g}",
        xaxis={"title": None, "tickmode": "array", "tickvals": list(range(t)), "side": "top",
               "ticktext": [f"{i}: {show_token(tok, 10)}" for i, tok in enumerate(toks)],
               "range": [-0.6, t - 0.4], "showgrid": False, "zeroline": False, "fixedrange": True},
        yaxis={"title": "layer", "tickmode": "array", "tickvals": list(range(n + 1)),
               "ticktext": [layer_label("resid", i) for i in range(n + 1)], "range": [-0.4, n + 0.4],
               "zeroline": False, "fixedrange": True},
        hovermode="closest", clickmode="event+select", dragmode=False, plot_bgcolor="white")
    return fig


def _selected_xy(g: FlowGraph, sel: tuple[str, int, int, int]) -> tuple[float, float] | None:
    what, layer, src, dst = sel
    if what.startswith("node:"):
        return float(src), layer + LEVEL[what.split(":", 1)[1]]
    if what == "mlp":
        return src + 0.25, layer + LEVEL["mlp"]
    for e in g.edges:
        if (e.kind, e.layer, e.source, e.destination) == (what, layer, src, dst):
            return _marker(e, len(g.tokens))
    return None


def _marker(e, t: int) -> tuple[float, float]:
    """Where an edge's click marker sits: the MLP square; a self-attention edge's bend; an attention edge at a
    fraction of its way that grows with its source (0.6 to 0.9), so no two edges share a marker; else the middle."""
    (x0, y0), (x1, y1) = _ends(e)
    if e.kind == "mlp":
        return x0 + 0.25, e.layer + LEVEL["mlp"]
    if e.kind == "attn" and e.source == e.destination:
        return x0 + SELF, (y0 + y1) / 2
    if e.kind == "attn":
        f = 0.6 + 0.3 * e.source / max(1, t - 1)
        return x0 + f * (x1 - x0), y0 + f * (y1 - y0)
    return (x0 + x1) / 2, (y0 + y1) / 2


def clicked_flow(event: Mapping[str, Any] | None) -> tuple[str, int, int, int] | None:
    """(what, layer, source, destination) of the clicked node or edge marker: what is 'node:resid', 'node:mid',
    'mlp' (an MLP node) or an edge kind ('attn', 'attn_resid', 'mlp_resid'); None for anything else."""
    cd = clicked_customdata(event)
    if not cd or len(cd) != 4 or not isinstance(cd[0], str):
        return None
    what = cd[0]
    if not (what.startswith("node:") or what in CLICKABLE):
        return None
    try:
        return what, int(cd[1]), int(cd[2]), int(cd[3])
    except (TypeError, ValueError):
        return None


def heads_figure(shares: np.ndarray, kv_group: int) -> go.Figure:
    """An edge's share per head, as bars (click one to open that head)."""
    fig = go.Figure(go.Bar(x=[f"H{h}" for h in range(len(shares))], y=shares, marker_color=COLOURS["attn"]))
    fig.update_layout(height=240, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title=f"share per head "
                      f"({kv_group} query heads per key/value head)", xaxis={"type": "category"},
                      clickmode="event+select", dragmode=False)
    return fig
