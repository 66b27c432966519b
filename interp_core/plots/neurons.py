"""Figures and the context heatmap for the neuron explorer (pure: results in, plotly Figure / HTML out)."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from interp_core.plots.axes import categorical_axes
from interp_core.plots.labels import token_label

STATS = {"max": "max activation", "mean": "mean activation", "std": "standard deviation",
         "frac_active": "fraction of tokens active", "min": "min activation"}


def winners_figure(winners: pd.DataFrame, top_n: int = 20, title: str = "") -> go.Figure:
    """Horizontal bars of the most frequent winning tokens (count; fraction in the hover)."""
    w = winners.head(top_n).iloc[::-1]
    fig = go.Figure(go.Bar(
        x=w["count"], y=[f"{token_label(t)} #{i}" for t, i in zip(w["token"], w["token_id"])], orientation="h",
        customdata=np.stack([w["fraction"].to_numpy(dtype=float)], axis=-1) if len(w) else None,
        hovertemplate="%{y}<br>%{x} wins (%{customdata[0]:.1%})<extra></extra>"))
    fig.update_layout(title=title or "Winning tokens", xaxis_title="samples won", yaxis_title="token",
                      height=max(260, 22 * len(w) + 120), margin=dict(l=10, r=10, t=50, b=40))
    fig.update_yaxes(type="category")
    return categorical_axes(fig)


def layer_figure(stats: pd.DataFrame, stat: str = "max", selected: int | None = None, title: str = "") -> go.Figure:
    """Every neuron of a layer: x = neuron index, y = the chosen statistic; click a point to open the neuron."""
    if stat not in STATS:
        raise ValueError(f"unknown statistic {stat!r}; choose one of {list(STATS)}")
    fig = go.Figure(go.Scattergl(
        x=stats["index"], y=stats[stat], mode="markers", customdata=stats["index"],
        marker=dict(size=5, color=stats[stat], colorscale="Viridis", showscale=True,
                    colorbar=dict(title=stat)),
        hovertemplate="neuron %{x}<br>" + STATS[stat] + " %{y:.4g}<extra></extra>", name="neurons"))
    if selected is not None and 0 <= selected < len(stats):
        row = stats.iloc[selected]
        fig.add_trace(go.Scatter(x=[row["index"]], y=[row[stat]], mode="markers", name="selected",
                                 marker=dict(size=14, color="rgba(0,0,0,0)", line=dict(color="red", width=2)),
                                 hoverinfo="skip"))
    fig.update_layout(title=title or f"{STATS[stat]} per neuron (click one)", xaxis_title="neuron",
                      yaxis_title=STATS[stat], showlegend=False, height=380, margin=dict(l=10, r=10, t=50, b=40),
                      clickmode="event+select")
    return categorical_axes(fig)


def top_tokens_figure(top: pd.DataFrame, title: str = "") -> go.Figure:
    """How often each token appears among a neuron's top activations."""
    counts = top.groupby(["token_id", "token"], sort=False).size().reset_index(name="count")
    counts = counts.sort_values("count", ascending=True, kind="stable")
    fig = go.Figure(go.Bar(x=counts["count"], y=[f"{token_label(t)} #{i}" for t, i in
                                                 zip(counts["token"], counts["token_id"])], orientation="h",
                           hovertemplate="%{y}: %{x}<extra></extra>"))
    fig.update_layout(title=title or "Tokens among the top activations", xaxis_title="count",
                      height=max(240, 22 * len(counts) + 110), margin=dict(l=10, r=10, t=50, b=40))
    fig.update_yaxes(type="category")  # labels like "'" #236 would otherwise be read as numbers by plotly
    return categorical_axes(fig)


def histogram_figure(values: np.ndarray, threshold: float | None = None, title: str = "") -> go.Figure:
    """Distribution of one neuron's activations over a sample of corpus tokens (log count axis)."""
    fig = go.Figure(go.Histogram(x=np.asarray(values, dtype=float), nbinsx=60, name="tokens"))
    if threshold is not None:
        fig.add_vline(x=threshold, line_dash="dash", line_color="gray")
    fig.update_layout(title=title or "Activation histogram", xaxis_title="activation", yaxis_title="tokens",
                      yaxis_type="log", height=300, margin=dict(l=10, r=10, t=50, b=40), showlegend=False)
    return categorical_axes(fig)


def context_heatmap_html(tokens: list[str], acts: list[float], pos: int | None = None, scale: float | None = None) -> str:
    """Tokens as HTML spans shaded by activation (orange = positive, blue = negative); every token is escaped.

    `pos` underlines the reported token; `scale` is the activation of full colour (default: the largest |act|).
    """
    a = np.asarray(acts, dtype=float)
    scale = float(scale) if scale else float(np.max(np.abs(a))) if a.size else 1.0
    scale = scale if np.isfinite(scale) and scale > 0 else 1.0
    spans = []
    for i, (tok, v) in enumerate(zip(tokens, a)):
        alpha = min(abs(v) / scale, 1.0)
        rgb = "255,140,0" if v >= 0 else "30,110,255"
        text = html.escape(tok).replace("\n", "⏎").replace(" ", "&nbsp;")
        style = f"background-color:rgba({rgb},{alpha:.2f});padding:1px 0;border-radius:2px"
        if i == pos:
            style += ";border-bottom:2px solid #c00;font-weight:bold"
        spans.append(f'<span title="{v:.4g}" style="{style}">{text}</span>')
    return '<div style="font-family:monospace;line-height:1.8;white-space:normal">' + "".join(spans) + "</div>"
