"""Logit-lens figures: layers x positions heatmap of top-1 tokens, a target's trajectory, the sweep heatmap.

Plotly renders text, hover text and tick labels as a small HTML subset, so every model token goes through
`show_token` (entities for '<', '>', '&'; visible whitespace) and a '<script>' token shows as text.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp_core.engine.sites import layer_label
from interp_core.plots.axes import categorical_axes
from interp_core.plots.clickable import with_click_cells
from interp_core.plots.labels import token_label
from interp_core.identity_memo import identity_memo

COLOR_MODES = {
    "probability": "top-1 probability",
    "zscore": "top-1 z-score",
    "target_prob": "target probability",
    "target_rank": "target rank (log scale)",
}


def show_token(tok: str, limit: int = 14) -> str:
    """A token as safe plotly text, at most `limit` characters (labels.token_label)."""
    return token_label(tok, limit)


def _axis_labels(tokens, start: int = 0) -> list[str]:
    return [f"{i}: {show_token(t, 10)}" for i, t in enumerate(tokens, start)]


DEFAULT_WINDOW = 64  # positions shown at first: the last ones, where the prediction is
MAX_WINDOW = 128  # never more columns than this in one heatmap; a longer prompt is read through a window


def position_window(n_pos: int, window: tuple[int, int] | None = None) -> tuple[int, int]:
    """The [lo, hi) positions to draw: the last DEFAULT_WINDOW by default, clipped and at most MAX_WINDOW wide."""
    if window is None:
        return max(0, n_pos - DEFAULT_WINDOW), n_pos
    lo, hi = sorted((int(window[0]), int(window[1])))
    lo, hi = min(max(lo, 0), max(n_pos - 1, 0)), min(max(hi, 1), n_pos)
    hi = max(hi, lo + 1)
    return (lo, min(hi, lo + MAX_WINDOW))


@identity_memo
def lens_heatmap(result, color_by: str = "probability", top_k: int = 5,
                 window: tuple[int, int] | None = None) -> go.Figure:
    """Layers (rows, embeddings at the bottom) x positions; cell text = top-1 token, hover = top-k.

    window: the [lo, hi) positions drawn (default: the last DEFAULT_WINDOW; at most MAX_WINDOW); x values
    are the absolute positions, so a clicked column j is position lo + j."""
    return _heatmap(result, color_by, top_k, window)


@identity_memo
def clickable_lens_heatmap(result, color_by: str, top_k: int, window: tuple[int, int] | None,
                           selected: tuple[int, int] | None) -> go.Figure:
    """The lens heatmap with a click target on every cell (clickable.with_click_cells); `selected` (row, column
    in the window) outlined."""
    return with_click_cells(_heatmap(result, color_by, top_k, window), selected=selected)


def _heatmap(result, color_by: str, top_k: int, window: tuple[int, int] | None) -> go.Figure:
    if color_by not in COLOR_MODES:
        raise ValueError(f"color_by must be one of {', '.join(COLOR_MODES)}")
    k = max(1, min(top_k, result.top_k))
    n_layers, n_all = result.zscore.shape
    lo, hi = position_window(n_all, window)
    n_pos = hi - lo
    labels = result.layer_labels()
    if color_by == "probability":
        z, title, scale, zmin, zmax = result.top_probs[..., 0], "top-1 prob", "Viridis", 0.0, 1.0
    elif color_by == "zscore":
        z, title, scale, zmin, zmax = result.zscore, "top-1 z", "Viridis", None, None
    elif color_by == "target_prob":
        z, title, scale, zmin, zmax = result.target.prob, "target prob", "Viridis", 0.0, 1.0
    else:  # rank: 1 is best; colour by log10(rank), bright = top
        z = -np.log10(result.target.rank.astype(float))
        title, scale, zmin, zmax = "target rank", "Viridis", float(z.min()), 0.0
    z = z[:, lo:hi]  # (S, window)
    text = [[show_token(result.token_text[int(result.top_ids[s, p, 0])]) for p in range(lo, hi)]
            for s in range(n_layers)]
    hover = []
    for s in range(n_layers):
        row = []
        for p in range(lo, hi):
            lines = [f"layer {labels[s]} · pos {p} {show_token(result.tokens[p], 24)}"]
            for tid, pr, lg in zip(result.top_ids[s, p, :k], result.top_probs[s, p, :k], result.top_logits[s, p, :k]):
                lines.append(f"{show_token(result.token_text[int(tid)], 24)}  p={pr:.3f}  logit={lg:.2f}")
            lines.append(f"top-1 z={result.zscore[s, p]:.2f}")
            t = result.target
            lines.append(f"target {show_token(t.tokens[p], 24)}: p={t.prob[s, p]:.3g} rank={t.rank[s, p]} "
                         f"z={t.zscore[s, p]:.2f}")
            row.append("<br>".join(lines))
        hover.append(row)
    colorbar: dict[str, Any] = {"title": {"text": title}}
    if color_by == "target_rank":
        ticks = [v for v in (0, -1, -2, -3, -4, -5, -6) if zmin is None or v >= zmin - 1e-9]
        colorbar.update(tickvals=ticks, ticktext=[f"{10 ** -v:,}" for v in ticks])
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(lo, hi)), y=list(range(n_layers)), text=text, texttemplate="%{text}",
        textfont={"size": 10}, customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        colorscale=scale, zmin=zmin, zmax=zmax, colorbar=colorbar, xgap=1, ygap=1,
    ))
    fig.update_layout(
        title=f"Logit lens ({result.method}) · colour: {COLOR_MODES[color_by]}"
              + (f" · positions {lo}–{hi - 1} of {n_all}" if n_pos < n_all else ""),
        xaxis={"title": "position: input token", "tickvals": list(range(lo, hi)),
               "ticktext": _axis_labels(result.tokens[lo:hi], lo), "tickangle": -45},
        yaxis={"title": "layer (hidden state)", "tickvals": list(range(n_layers)), "ticktext": labels},
        height=max(380, 28 * n_layers + 160), margin={"l": 60, "r": 20, "t": 50, "b": 90},
    )
    fig.update_traces(hoverlabel={"align": "left"})
    return categorical_axes(fig)


@identity_memo
def trajectory_figure(traj) -> go.Figure:
    """z-score, probability and rank of the target at each layer; a dashed line marks the snap layer."""
    labels = [layer_label("resid", layer) for layer in traj.layers]
    x = list(traj.layers)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=("z-score", "probability", "rank (1 = top)"))
    fig.add_trace(go.Scatter(x=x, y=traj.zscore, mode="lines+markers", name="z-score"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=traj.prob, mode="lines+markers", name="probability"), row=2, col=1)
    fig.add_trace(go.Scatter(x=x, y=traj.rank, mode="lines+markers", name="rank"), row=3, col=1)
    fig.update_yaxes(type="log", autorange="reversed", row=3, col=1)
    fig.update_yaxes(range=[0, 1.02], row=2, col=1)
    if traj.snap_layer is not None:
        for r in (1, 2, 3):
            fig.add_vline(x=traj.snap_layer, line_dash="dash", line_color="crimson", row=r, col=1)
        fig.add_annotation(x=traj.snap_layer, y=1.0, yref="paper", text=f"snap: layer {traj.snap_layer}",
                           showarrow=False, font={"color": "crimson"}, xanchor="left", yanchor="bottom")
    fig.update_xaxes(tickvals=x, ticktext=labels, row=3, col=1, title_text="layer")
    fig.update_layout(
        title=(f"Target {show_token(traj.target, 30)} at position {traj.position} "
               f"({show_token(traj.position_token, 30)})"),
        height=620, showlegend=False, margin={"l": 60, "r": 20, "t": 80, "b": 50},
    )
    return categorical_axes(fig)


@identity_memo
def sweep_heatmap(sweep, window: tuple[int, int] | None = None) -> go.Figure:
    """Layers x swept tokens, colour = z-score min-max normalised per token; hover shows the raw z.
    window: [lo, hi) of the swept tokens drawn (default the last DEFAULT_WINDOW, at most MAX_WINDOW)."""
    n_layers, n_all = sweep.zscore.shape
    lo, hi = position_window(n_all, window)
    n = hi - lo
    labels = [layer_label("resid", layer) for layer in sweep.layers]
    own = [p if sweep.kind == "masked" else p + 1 for p in sweep.positions]  # the token's own position
    ticks = [f"{p}: {show_token(t, 10)}" for p, t in zip(own[lo:hi], sweep.tokens[lo:hi])]
    hover = [[f"layer {labels[s]} · {show_token(sweep.tokens[j], 24)}<br>z={sweep.zscore[s, j]:.2f} "
              f"(normalised {sweep.normalized[s, j]:.2f})" for j in range(lo, hi)] for s in range(n_layers)]
    what = ("original token at its [MASK]" if sweep.kind == "masked" else "actual next token")
    fig = go.Figure(go.Heatmap(
        z=sweep.normalized[:, lo:hi], x=list(range(n)), y=list(range(n_layers)), customdata=hover,
        hovertemplate="%{customdata}<extra></extra>", colorscale="Viridis", zmin=0, zmax=1,
        colorbar={"title": {"text": "z (min-max per token)"}}, xgap=1, ygap=1,
    ))
    fig.update_layout(
        title=f"{'Masked' if sweep.kind == 'masked' else 'Next-token'} sweep: z-score of the {what}",
        xaxis={"title": "predicted token", "tickvals": list(range(n)), "ticktext": ticks, "tickangle": -45},
        yaxis={"title": "layer (hidden state)", "tickvals": list(range(n_layers)), "ticktext": labels},
        height=max(360, 24 * n_layers + 160), margin={"l": 60, "r": 20, "t": 50, "b": 90},
    )
    return categorical_axes(fig)
