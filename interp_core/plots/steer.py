"""Steering charts: the targets' next-token probabilities and the continuations' coherence against α (points
carry their sweep index as customdata, so a click picks that α), and clean vs steered top-k."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

COLORS = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2")


def alpha_label(alpha: float) -> str:
    return f"{alpha:+g}" if alpha else "0"


def steer_sweep_figure(sw, *, picked: int | None = None) -> go.Figure:
    """Target probabilities (top) and coherence (bottom) against α, α on a categorical axis in sweep order."""
    xs = [alpha_label(p.alpha) for p in sw.points]
    idx = list(range(len(sw.points)))
    unit = "× typical norm" if sw.steer.alpha_unit == "norm" else "(absolute)"
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.08)
    for j, t in enumerate(sw.targets):
        fig.add_trace(go.Scatter(x=xs, y=[p.target_probs[j] for p in sw.points], customdata=idx,
                                 mode="lines+markers", name=repr(t), marker=dict(size=10),
                                 line=dict(color=COLORS[j % len(COLORS)]),
                                 hovertemplate=f"α %{{x}}: p({t!r}) = %{{y:.4f}}<extra></extra>"), row=1, col=1)
    coh = [p.generation.coherence for p in sw.points]
    if any(c is not None for c in coh):
        fig.add_trace(go.Scatter(x=xs, y=coh, customdata=idx, mode="lines+markers", name="coherence",
                                 marker=dict(size=9, color="#888"), line=dict(color="#888", dash="dot"),
                                 hovertemplate="α %{x}: mean log p under the clean model = %{y:.2f}<extra></extra>"),
                      row=2, col=1)
        if sw.generation_clean.coherence is not None:
            fig.add_hline(y=sw.generation_clean.coherence, line_dash="dash", line_color="#bbb", row=2, col=1,
                          annotation_text="clean", annotation_position="bottom right")
    if picked is not None and 0 <= picked < len(xs):
        fig.add_vline(x=picked, line_color="#E45756", line_width=1)
    fig.update_xaxes(type="category", title_text=f"α {unit}", row=2, col=1)
    fig.update_yaxes(title_text="p(target), next token", row=1, col=1)
    fig.update_yaxes(title_text="coherence", row=2, col=1)
    fig.update_layout(title="Steering strength sweep (click a point to see that α's continuation)", height=520,
                      margin=dict(l=10, r=10, t=50, b=40), clickmode="event+select",
                      legend=dict(orientation="h", y=1.08, x=0))
    return fig


def steer_topk_figure(res) -> go.Figure:
    """Clean vs steered next-token top-k as two bar groups (tokens categorical, in each run's own order)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("clean", "steered"), horizontal_spacing=0.15)
    for col, side, color in ((1, res.clean, "#4C78A8"), (2, res.steered, "#F58518")):
        toks = [repr(t.token) for t in side.top][::-1]
        fig.add_trace(go.Bar(x=[t.prob for t in side.top][::-1], y=toks, orientation="h", marker_color=color,
                             showlegend=False, hovertemplate="%{y}: %{x:.4f}<extra></extra>"), row=1, col=col)
        fig.update_yaxes(type="category", row=1, col=col)
    fig.update_xaxes(title_text="probability")
    fig.update_layout(title="Next token: clean vs steered", height=360, margin=dict(l=10, r=10, t=60, b=40))
    return fig
