"""Figures for activation patching: clickable layer × position / layer × head grids and the estimate-vs-exact
scatter. Pure functions (no model). Grids are drawn as scatter traces of square markers, not heatmaps:
Plotly reports clicks on scatter points to Streamlit's on_select, but not on heatmap cells."""
from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from interp_core.engine.sites import layer_label


def _shown(text: str) -> str:
    return html.escape(text)


def cell_figure(values: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str], *, title: str,
                value_name: str, x_title: str, rows: Sequence[int] | None = None, cols: Sequence[int] | None = None,
                symmetric: bool = True) -> go.Figure:
    """values (R, C) as a grid of square markers; each point's customdata = [row id, column id, value]."""
    values = np.asarray(values, dtype=float)
    R, C = values.shape
    rows = list(range(R)) if rows is None else list(rows)
    cols = list(range(C)) if cols is None else list(cols)
    ii: np.ndarray
    jj: np.ndarray
    ii, jj = np.meshgrid(np.arange(R), np.arange(C), indexing="ij")
    z = values.reshape(-1)
    finite = z[np.isfinite(z)]
    top = float(np.abs(finite).max()) if finite.size else 1.0
    top = top or 1.0
    size = max(6, min(34, int(560 / max(R, C, 1))))
    custom = np.stack([np.array(rows)[ii.reshape(-1)], np.array(cols)[jj.reshape(-1)], z], axis=1)
    fig = go.Figure(go.Scatter(
        x=jj.reshape(-1), y=ii.reshape(-1), mode="markers", customdata=custom.tolist(),  # plain lists reach on_select
        text=[f"layer {_shown(row_labels[i])} · {_shown(col_labels[j])}" for i, j in zip(ii.reshape(-1), jj.reshape(-1))],
        marker=dict(symbol="square", size=size, color=z, colorscale="RdBu" if symmetric else "Viridis",
                    cmin=-top if symmetric else None, cmax=top if symmetric else None, cmid=0 if symmetric else None,
                    reversescale=symmetric, colorbar=dict(title=value_name), line=dict(width=0)),
        hovertemplate="%{text}<br>" + _shown(value_name) + " = %{customdata[2]:.4f}<extra></extra>"))
    fig.update_xaxes(title_text=x_title, tickmode="array", tickvals=list(range(C)),
                     ticktext=[_shown(c) for c in col_labels], showgrid=False, zeroline=False)
    fig.update_yaxes(title_text="layer", tickmode="array", tickvals=list(range(R)),
                     ticktext=[_shown(r) for r in row_labels], autorange="reversed", showgrid=False, zeroline=False)
    fig.update_layout(title=title, height=max(320, 90 + (size + 4) * R), clickmode="event+select",
                      dragmode=False, margin=dict(l=10, r=10, t=60, b=40), plot_bgcolor="white")
    return fig


def grid_figure(grid) -> go.Figure:
    """A patching.PatchGrid: the metric after patching each cell."""
    heads = grid.grid == "heads"
    name = "metric after patch"
    return cell_figure(grid.values, [grid.layer_label(l) for l in grid.layers],
                       [grid.column_label(c) for c in grid.columns], rows=grid.layers, cols=grid.columns,
                       title=f"Exact patching: {grid.grid} ({grid.direction})", value_name=name,
                       x_title="head" if heads else "position", symmetric=True)


def attribution_figure(attr, kind: str, *, neurons_per_layer: int = 10) -> go.Figure:
    """An Attribution's estimates for one component kind (neurons: the top-N per layer by |estimate|)."""
    L = attr.resid.shape[0] - 1
    if kind == "neuron":
        top = attr.top_neurons(neurons_per_layer)
        n = neurons_per_layer
        vals = np.full((L, n), np.nan)
        ids = np.zeros((L, n), dtype=int)
        for layer, g in top.groupby("layer"):
            vals[layer, :len(g)] = g["estimate"].to_numpy()
            ids[layer, :len(g)] = g["neuron"].to_numpy()
        fig = cell_figure(vals, [str(l) for l in range(L)], [f"#{r + 1}" for r in range(n)],
                          title=f"Attribution estimate: top {n} neurons per layer", value_name="estimated Δ metric",
                          x_title="rank within layer (by |estimate|)")
        tr = fig.data[0]
        cd = np.array(tr.customdata)
        cd[:, 1] = ids.reshape(-1)  # column id = the neuron index
        tr.customdata = cd.tolist()
        layer_of: list[int] = np.repeat(np.arange(L), n).tolist()
        tr.text = [f"layer {l} · neuron {i}" for l, i in zip(layer_of, ids.reshape(-1))]
        return fig
    m = attr.matrix(kind)
    if kind == "head":
        cols, labels = list(range(m.shape[1])), [f"H{h}" for h in range(m.shape[1])]
    else:
        cols = list(attr.prep.positions)
        labels = [f"{p}: {attr.prep.position_label(p)}" for p in cols]
    rows = [layer_label(kind, l) for l in range(m.shape[0])]
    return cell_figure(m, rows, labels, cols=cols, title=f"Attribution estimate: {kind}",
                       value_name="estimated Δ metric", x_title="head" if kind == "head" else "position")


def estimate_exact_figure(frame: pd.DataFrame, title: str = "Attribution estimate vs exact patch") -> go.Figure:
    """Scatter of estimate (x) against exact (y) with the y = x line; frame from attribution.Checked.frame()."""
    fig = go.Figure()
    if len(frame):
        lo = float(min(frame["estimate"].min(), frame["exact"].min()))
        hi = float(max(frame["estimate"].max(), frame["exact"].max()))
        pad = 0.05 * ((hi - lo) or 1.0)
        fig.add_trace(go.Scatter(x=[lo - pad, hi + pad], y=[lo - pad, hi + pad], mode="lines", name="estimate = exact",
                                 line=dict(color="#999", dash="dash"), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=frame["estimate"], y=frame["exact"], mode="markers", name="component",
                             text=[_shown(s) for s in frame["label"]], marker=dict(size=9, color="#4C78A8"),
                             hovertemplate="%{text}<br>estimate %{x:.4f}<br>exact %{y:.4f}<extra></extra>"))
    fig.update_xaxes(title_text="attribution estimate (Δ metric)")
    fig.update_yaxes(title_text="exact patch (Δ metric)")
    fig.update_layout(title=title, height=460, margin=dict(l=10, r=10, t=60, b=40))
    return fig
