"""The home page's overview of a model (pure: a parameter breakdown in, a plotly Figure out)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from interp_core.plots.axes import categorical_axes
from interp_core.components.parameters import PARTS

COLORS = dict(zip(PARTS, ("#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756")))


def parameters_figure(breakdown: pd.DataFrame, title: str = "") -> go.Figure:
    """Stacked bars: parameters at each position (embedding, every block, the head), by part."""
    order = list(dict.fromkeys(breakdown["position"]))
    fig = go.Figure()
    for part, color in COLORS.items():
        rows = breakdown[breakdown["part"] == part].set_index("position")["params"]
        if rows.sum() == 0:
            continue
        y = [float(rows.get(p, 0)) / 1e6 for p in order]
        fig.add_trace(go.Bar(x=order, y=y, name=part, marker_color=color,
                             hovertemplate=f"{part}<br>%{{x}}: %{{y:.2f}} M parameters<extra></extra>"))
    total = breakdown["params"].sum() / 1e6
    fig.update_layout(barmode="stack", title=title or f"Where the {total:,.1f} M parameters are",
                      xaxis_title="embedding · block · head", yaxis_title="parameters (millions)", height=340,
                      margin=dict(l=10, r=10, t=50, b=40), legend=dict(orientation="h", y=1.02, x=1, xanchor="right",
                                                                       yanchor="bottom"))
    fig.update_xaxes(type="category")
    return categorical_axes(fig)
