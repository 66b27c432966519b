"""Figures for the ablation playground: pure functions result -> plotly Figure (no model needed)."""
from __future__ import annotations


import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp_core.plots.axes import categorical_axes
from interp_core.plots.labels import token_label
from interp_core.identity_memo import identity_memo

METRICS: dict[str, str] = {
    "target_prob_delta": "Δ target probability (ablated − clean)",
    "target_logit_delta": "Δ target logit (ablated − clean)",
    "target_prob_ablated": "target probability after ablation",
    "kl": "KL(clean ‖ ablated), nats",
}


@identity_memo
def topk_figure(comparison, title: str = "Next-token distribution") -> go.Figure:
    """Clean and ablated top-k as two horizontal bar charts side by side (most likely on top)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("clean", "ablated"), horizontal_spacing=0.18)
    for col, side, color in ((1, comparison.clean, "#4C78A8"), (2, comparison.ablated, "#E45756")):
        toks = [f"{i + 1}. {token_label(t.token)}" for i, t in enumerate(side.top)]
        fig.add_trace(go.Bar(x=[t.prob for t in side.top], y=toks, orientation="h", marker_color=color,
                             text=[f"{t.prob:.3f}" for t in side.top], textposition="auto",
                             hovertemplate="%{y}: p=%{x:.4f}<extra></extra>", showlegend=False), row=1, col=col)
        fig.update_yaxes(autorange="reversed", type="category", row=1, col=col)  # token labels, never numbers
    # one probability scale for both sides, so equal bars mean equal probabilities
    top = max([t.prob for side in (comparison.clean, comparison.ablated) for t in side.top] or [1.0])
    fig.update_xaxes(title_text="probability", range=[0, min(1.0, top * 1.08) or 1.0])
    fig.update_layout(title=f"{title} (KL = {comparison.kl:.3f} nats)", height=120 + 28 * len(comparison.clean.top),
                      margin=dict(l=10, r=10, t=70, b=40))
    return categorical_axes(fig)


def _metric(frame: pd.DataFrame, metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric}")
    if metric != "kl" and frame[metric].isna().all():
        return "kl"  # no target token: only the KL divergence is defined
    return metric


def layer_sweep_figure(frame: pd.DataFrame, metric: str = "target_prob_delta", title: str = "Effect per layer"
                       ) -> go.Figure:
    """Bar per layer of the chosen effect (negative Δ = the ablation hurt the target)."""
    m = _metric(frame, metric)
    colors = ["#E45756" if (v or 0) < 0 else "#4C78A8" for v in frame[m]]
    fig = go.Figure(go.Bar(x=frame["layer"], y=frame[m], marker_color=colors,
                           customdata=list(zip(frame["top_token_ablated"].map(token_label), frame["top_prob_ablated"])),
                           hovertemplate="layer %{x}: %{y:.4f}<br>top after ablation: %{customdata[0]} "
                                         "(%{customdata[1]:.3f})<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="layer", yaxis_title=METRICS[m], height=380,
                      margin=dict(l=10, r=10, t=50, b=40))
    fig.update_xaxes(dtick=1)
    return categorical_axes(fig)


def head_sweep_figure(frame: pd.DataFrame, metric: str = "target_prob_delta", title: str = "Effect per head"
                      ) -> go.Figure:
    """Layers × heads heatmap of the chosen effect (diverging around 0 for Δ metrics)."""
    m = _metric(frame, metric)
    grid = frame.pivot(index="layer", columns="head", values=m).sort_index()
    z = grid.to_numpy(dtype=float)
    kw = dict(colorscale="RdBu", zmid=0) if m.endswith("delta") else dict(colorscale="Viridis")
    fig = go.Figure(go.Heatmap(z=z, x=[str(int(h)) for h in grid.columns], y=[str(int(l)) for l in grid.index],
                               colorbar=dict(title=dict(text=m)), **kw,
                               hovertemplate="layer %{y}, head %{x}: %{z:.4f}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="head", yaxis_title="layer", height=max(320, 24 * len(grid) + 120),
                      margin=dict(l=10, r=10, t=50, b=40))
    fig.update_xaxes(type="category")  # whole heads only: never 0.5-steps of a numeric axis
    fig.update_yaxes(type="category")
    return categorical_axes(fig)


def scale_sweep_figure(frame: pd.DataFrame, metric: str = "target_prob_ablated", title: str = "Effect of scaling"
                       ) -> go.Figure:
    """Effect as the scale factor goes from 0 (ablated) through 1 (clean) and beyond (amplified)."""
    m = _metric(frame, metric)
    fig = go.Figure(go.Scatter(x=frame["scale"], y=frame[m], mode="lines+markers",
                               hovertemplate="scale %{x:g}: %{y:.4f}<extra></extra>"))
    fig.add_vline(x=1.0, line_dash="dot", annotation_text="clean (×1)")
    fig.update_layout(title=title, xaxis_title="scale factor", yaxis_title=METRICS[m], height=360,
                      margin=dict(l=10, r=10, t=50, b=40))
    return categorical_axes(fig)


@identity_memo
def self_repair_figure(repair) -> go.Figure:
    """Direct vs total effect on the target logit; the ratio in the title."""
    ratio = "n/a (direct effect ≈ 0)" if repair.ratio is None else f"{repair.ratio:.2f}"
    fig = go.Figure(go.Bar(x=["direct effect", "total effect"], y=[repair.direct_effect, repair.total_effect],
                           marker_color=["#F58518", "#54A24B"],
                           text=[f"{repair.direct_effect:+.3f}", f"{repair.total_effect:+.3f}"], textposition="auto"))
    fig.update_layout(title=f"Self-repair on {token_label(repair.target)}: total / direct = {ratio}",
                      yaxis_title=repair.metric, height=340, margin=dict(l=10, r=10, t=50, b=40))
    return categorical_axes(fig)
