"""Make a heatmap's cells clickable: Plotly reports selections of scatter points but not of heatmap cells (no
`on_select` event for them in a browser), so an invisible square-marker scatter is laid over the cells. It
carries the cell's hover text, and `clicked_cell` maps a selection event back to (row, column)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import plotly.graph_objects as go

OVERLAY = "cells"  # the overlay trace's name


def with_click_cells(fig: go.Figure, *, trace: int = 0, selected: tuple[int, int] | None = None) -> go.Figure:
    """Overlay the heatmap `fig.data[trace]` with one transparent square marker per cell (row-major order),
    each with the cell's hover text; `selected` = (row, col) gets a visible outline. Returns `fig`."""
    heat = fig.data[trace]
    z = np.asarray(heat.z, dtype=float)  # (rows, cols)
    rows, cols = z.shape
    xs = list(heat.x) if heat.x is not None else list(range(cols))
    ys = list(heat.y) if heat.y is not None else list(range(rows))
    custom = heat.customdata
    hover = []
    for i in range(rows):
        for j in range(cols):
            if custom is not None:
                hover.append(str(custom[i][j]))
            else:
                hover.append(f"{ys[i]} · {xs[j]}: {z[i, j]:.4g}")
    cell = _cell_px(fig, rows, cols)
    # hit markers smaller than a cell: overlapping markers all contain the cursor and Plotly then picks the last
    # one drawn (a click on layer 5 opened layer 6); with no overlap and hoverdistance -1 the nearest cell wins
    px = max(2, min(8, cell - 2))
    fig.add_trace(go.Scatter(
        x=[xs[j] for i in range(rows) for j in range(cols)], y=[ys[i] for i in range(rows) for j in range(cols)],
        mode="markers", name=OVERLAY, showlegend=False, hovertext=hover, hovertemplate="%{hovertext}<extra></extra>",
        marker={"symbol": "square", "size": px, "color": "rgba(0,0,0,0)"},
        selected={"marker": {"opacity": 1}}, unselected={"marker": {"opacity": 1}}))
    heat.update(hoverinfo="skip", hovertemplate=None)
    if selected is not None and 0 <= selected[0] < rows and 0 <= selected[1] < cols:
        r, c = selected
        fig.add_trace(go.Scatter(x=[xs[c]], y=[ys[r]], mode="markers", name="selected", showlegend=False,
                                 hoverinfo="skip", marker={"symbol": "square-open", "size": cell,
                                                           "color": "crimson", "line": {"width": 3}}))
    fig.update_layout(hovermode="closest", hoverdistance=-1, clickmode="event+select", dragmode=False)
    fig.update_traces(hoverlabel={"align": "left"})
    return fig


def _cell_px(fig: go.Figure, rows: int, cols: int) -> int:
    """Roughly the pixel size of one cell: the plot area (figure height less margins, a ~700 px wide main
    column) over the grid."""
    lay = fig.layout
    height = lay.height or 450
    top = lay.margin.t if lay.margin.t is not None else 100
    bottom = lay.margin.b if lay.margin.b is not None else 80
    width = (lay.width or 760) - (lay.margin.l or 80) - (lay.margin.r or 80)
    return max(4, min(40, int(min((height - top - bottom) / max(rows, 1), width / max(cols, 1)))))


def selected_points(event: Mapping[str, Any] | None, curve: int | None = None) -> list[Mapping[str, Any]]:
    """The one decoder of a Streamlit plotly selection event: its points, only those of trace `curve` if given
    (a point without a curve number counts as on it)."""
    points = ((event or {}).get("selection") or {}).get("points") or []
    return [p for p in points if curve is None or p.get("curve_number", curve) == curve]


def clicked_cell(event: Mapping[str, Any] | None, n_cols: int, curve: int | None = None) -> tuple[int, int] | None:
    """(row, col) of the overlay cell a selection event points at, or None.
    `curve`: the overlay's trace index (its position in fig.data), to ignore clicks on other traces."""
    for p in selected_points(event, curve):
        idx = p.get("point_index", p.get("point_number"))
        if idx is None or n_cols <= 0:
            continue
        return int(idx) // n_cols, int(idx) % n_cols
    return None


def clicked_square(event: Mapping[str, Any] | None, curve: int = 0) -> tuple[int, int] | None:
    """(row, col) = (y, x) rounded of the first clicked marker of trace `curve` on an integer grid (head maps)."""
    for p in selected_points(event, curve):
        if "x" in p and "y" in p:
            return int(round(p["y"])), int(round(p["x"]))
    return None


def clicked_value(event: Mapping[str, Any] | None, axis: str = "x", curve: int | None = None) -> Any:
    """The `axis` value ("x" or "y") of the first clicked point that has one (a bar, a point of a line), or None."""
    for p in selected_points(event, curve):
        if axis in p:
            return p[axis]
    return None


def clicked_customdata(event: Mapping[str, Any] | None) -> list[Any] | None:
    """The customdata of the first clicked point, as a list (a typed array arrives keyed by index), or None."""
    points = selected_points(event)
    if not points or "customdata" not in points[0]:
        return None
    cd = points[0]["customdata"]
    if isinstance(cd, Mapping):
        cd = [cd[k] for k in sorted(cd, key=int)]
    return list(cd) if isinstance(cd, (list, tuple)) else [cd]
