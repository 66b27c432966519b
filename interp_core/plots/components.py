"""Figures and HTML for the component views (pure: results in, plotly Figure / escaped HTML out): attention
patterns (grid, one head, a clickable head map, a hover token view), direct logit attribution, neuron writes and
a neuron on a prompt. Clickable charts are scatters of square markers (Plotly reports clicks on points only)."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp_core.components import AttentionPatterns, DirectLogitAttribution, NeuronWrites, PromptActivations
from interp_core.plots.axes import categorical_axes
from interp_core.plots.labels import token_label
from interp_core.plots.neurons import context_heatmap_html
from interp_core.identity_memo import identity_memo

MAX_GRID_CELLS = 4096  # heads drawn in the overview grid at most (each a T×T heatmap)
MAX_TOKEN_VIEW = 160  # the hover token view holds T×T spans


def _masked(ap: AttentionPatterns, layer: int, head: int) -> np.ndarray:
    """The head's (T, T) pattern with keys its mask forbids set to NaN (drawn grey: the mask stays visible)."""
    z: np.ndarray = ap.pattern(layer, head).astype(float).copy()
    z[~ap.allowed(layer)] = np.nan
    return z


def pattern_figure(ap: AttentionPatterns, layer: int, head: int) -> go.Figure:
    """One head: query rows × key columns, weight as colour, masked keys grey; hover names both tokens."""
    z = _masked(ap, layer, head)
    labels = [f"{i} {token_label(t)}" for i, t in enumerate(ap.tokens)]
    t = len(labels)
    hover = [[f"query {labels[q]}<br>key {labels[k]}<br>weight {z[q, k]:.4f}" if np.isfinite(z[q, k])
              else f"query {labels[q]}<br>key {labels[k]}<br>masked" for k in range(t)] for q in range(t)]
    fig = go.Figure(go.Heatmap(z=z, x=list(range(t)), y=list(range(t)), colorscale="Blues", zmin=0, zmax=1,
                               customdata=hover, hovertemplate="%{customdata}<extra></extra>",
                               colorbar={"title": "weight"}))
    kv = f" · KV head {ap.kv_group(head)}" if ap.n_kv_heads < ap.n_heads else ""
    fig.update_layout(title=f"Layer {layer} head {head} — {ap.layer_label(layer)}{kv}", plot_bgcolor="#e6e6e6",
                      xaxis={"title": "key (attended to)", "tickvals": list(range(t)), "ticktext": labels,
                             "tickangle": -60},
                      yaxis={"title": "query (attending)", "tickvals": list(range(t)), "ticktext": labels,
                             "autorange": "reversed"},
                      height=max(420, 16 * t + 200), margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return categorical_axes(fig)


def pattern_grid_figure(ap: AttentionPatterns) -> go.Figure:
    """Every captured layer (rows) × head (columns) as small heatmaps, masked keys grey, layers labelled
    with their kind (global / sliding window / bidirectional)."""
    n_l, n_h = len(ap.layers), ap.n_heads
    if n_l * n_h > MAX_GRID_CELLS:
        raise ValueError(f"{n_l * n_h} heads is too many for one grid")
    fig = make_subplots(rows=n_l, cols=n_h, horizontal_spacing=0.01, vertical_spacing=min(0.02, 0.5 / max(n_l, 1)),
                        row_titles=[ap.layer_label(lay) for lay in ap.layers],
                        column_titles=[f"head {h}" for h in range(n_h)])
    for i, lay in enumerate(ap.layers):
        for h in range(n_h):
            fig.add_trace(go.Heatmap(z=_masked(ap, lay, h), colorscale="Blues", zmin=0, zmax=1, showscale=False,
                                     hovertemplate=f"L{lay} H{h}<br>query %{{y}} → key %{{x}}<br>%{{z:.3f}}<extra></extra>"),
                          row=i + 1, col=h + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, autorange="reversed")
    fig.update_annotations(font_size=10)
    fig.update_layout(plot_bgcolor="#e6e6e6", height=max(300, 90 * n_l + 80), margin={"l": 10, "r": 110, "t": 40, "b": 10},
                      title="Every head (query ↓, key →; grey = masked)")
    return categorical_axes(fig)


def head_scores(ap: AttentionPatterns) -> pd.DataFrame:
    """Per head: layer, head, entropy (nats, mean over queries), share on the first token and on the previous one."""
    rows = []
    for i, lay in enumerate(ap.layers):
        for h in range(ap.n_heads):
            p: np.ndarray = ap.patterns[i, h].astype(float)  # (T, T)
            ent = float(np.mean(-np.sum(np.where(p > 0, p * np.log(np.maximum(p, 1e-30)), 0.0), axis=-1)))
            prev = float(np.mean(np.diagonal(p, offset=-1))) if p.shape[0] > 1 else 0.0
            rows.append({"layer": lay, "head": h, "kind": ap.kinds[i], "entropy": ent,
                         "first_token": float(p[:, 0].mean()), "previous_token": prev})
    return pd.DataFrame(rows, columns=["layer", "head", "kind", "entropy", "first_token", "previous_token"])


def _grid_axis(title: str, values: list[int], reversed_: bool = False) -> dict:
    """A layer or head axis of a square-marker grid: ticks at exactly the values drawn, half a cell of margin
    (autorange with dtick 1 put ticks at -1 and one past the last layer)."""
    lo, hi = min(values) - 0.5, max(values) + 0.5
    return {"title": title, "tickmode": "array", "tickvals": values, "range": [hi, lo] if reversed_ else [lo, hi],
            "zeroline": False}


def head_map_figure(ap: AttentionPatterns, score: str = "entropy", selected: tuple[int, int] | None = None) -> go.Figure:
    """One square per (layer, head), coloured by a head score; click one to open its pattern."""
    s = head_scores(ap)
    fig = go.Figure(go.Scatter(
        x=s["head"], y=s["layer"], mode="markers", customdata=np.stack([s["layer"], s["head"]], axis=-1),
        marker={"symbol": "square", "size": max(10, min(36, int(520 / max(len(ap.layers), ap.n_heads)))),
                "color": s[score], "colorscale": "Viridis", "showscale": True, "colorbar": {"title": score}},
        text=[f"L{r.layer} H{r.head} ({r.kind})<br>{score} {getattr(r, score):.3f}" for r in s.itertuples()],
        hovertemplate="%{text}<extra></extra>", name="heads",
        selected={"marker": {"opacity": 1}}, unselected={"marker": {"opacity": 1}}))
    if selected is not None:
        fig.add_trace(go.Scatter(x=[selected[1]], y=[selected[0]], mode="markers", hoverinfo="skip", name="selected",
                                 marker={"symbol": "square-open", "size": 22, "color": "crimson", "line": {"width": 3}}))
    fig.update_layout(title=f"Heads by {score.replace('_', ' ')} (click one to open its pattern)", showlegend=False,
                      xaxis=_grid_axis("head", list(range(ap.n_heads))), yaxis=_grid_axis("layer", list(ap.layers), True),
                      height=max(260, 24 * len(ap.layers) + 120), margin={"l": 10, "r": 10, "t": 50, "b": 40},
                      clickmode="event+select", dragmode=False)
    return categorical_axes(fig)


def attention_tokens_html(ap: AttentionPatterns, layer: int, head: int) -> str:
    """CircuitsVis-style token view: hover a token to see, under it, the prompt shaded by where it attends
    (pure CSS, no script; every token is escaped)."""
    p = ap.pattern(layer, head)
    t = len(ap.tokens)
    if t > MAX_TOKEN_VIEW:
        raise ValueError(f"the token view shows at most {MAX_TOKEN_VIEW} tokens")
    esc = [html.escape(tok).replace("\n", "⏎").replace(" ", "&nbsp;") for tok in ap.tokens]
    out = ['<style>.lg-av{font-family:monospace;line-height:2;position:relative}'
           '.lg-av .q{position:static;cursor:default;border:1px solid #ddd;border-radius:3px;padding:1px 1px;margin:1px}'
           '.lg-av .q:hover{border-color:#c00;background:#fee}'
           '.lg-av .pop{display:none;position:absolute;left:0;right:0;top:100%;z-index:20;background:#fff;'
           'border:1px solid #999;border-radius:4px;padding:6px;box-shadow:0 2px 8px rgba(0,0,0,.2)}'
           '.lg-av .q:hover .pop{display:block}</style>',
           f'<div class="lg-av" data-layer="{layer}" data-head="{head}">']
    for q in range(t):
        spans = []
        for k in range(t):
            w = float(p[q, k])
            style = f"background:rgba(30,110,255,{min(w, 1.0):.2f})"
            if k == q:
                style += ";outline:2px solid #c00"
            spans.append(f'<span title="{w:.4f}" style="{style}">{esc[k]}</span>')
        out.append(f'<span class="q" data-q="{q}">{esc[q]}<span class="pop">'
                   f'<b>{esc[q]}</b> (query {q}) attends to:<br>{"".join(spans)}</span></span>')
    out.append("</div>")
    return "".join(out)


@identity_memo
def dla_waterfall_figure(d: DirectLogitAttribution) -> go.Figure:
    """Embedding, each layer's attention and MLP, then the final norm's bias, adding up to the model's logit."""
    f = d.layer_frame()
    colors = {"embed": "#888", "attn": "#1f77b4", "mlp": "#ff7f0e", "norm": "#2ca02c"}
    fig = go.Figure(go.Waterfall(
        x=list(f["component"]) + ["total"], y=list(f["value"]) + [0.0],
        measure=["relative"] * len(f) + ["total"], connector={"line": {"color": "#bbb"}}, showlegend=False,
        hovertemplate="%{x}: %{y:+.4f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=list(f["component"]), y=np.cumsum(f["value"]), mode="markers", hoverinfo="skip",
                             marker={"color": [colors[k] for k in f["kind"]], "size": 6}, showlegend=False))
    fig.update_layout(title=f"Direct logit attribution: {d.label} at position {d.position} "
                            f"({token_label(d.tokens[d.position])}) = {d.actual:.4f}",
                      yaxis_title="contribution (cumulative)", height=420, margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      xaxis={"tickangle": -60}, showlegend=False)
    return categorical_axes(fig)


@identity_memo
def dla_heads_figure(d: DirectLogitAttribution, selected: tuple[int, int] | None = None) -> go.Figure:
    """Layer × head direct contributions as coloured squares (red promotes, blue suppresses); click to open one."""
    n_l, n_h = d.heads.shape
    lay: np.ndarray
    hd: np.ndarray
    lay, hd = np.meshgrid(np.arange(n_l), np.arange(n_h), indexing="ij")
    v = d.heads.reshape(-1)
    m = float(np.max(np.abs(v))) or 1.0
    fig = go.Figure(go.Scatter(
        x=hd.reshape(-1), y=lay.reshape(-1), mode="markers", name="heads",
        marker={"symbol": "square", "size": max(10, min(36, int(520 / max(n_l, n_h)))), "color": v,
                "colorscale": "RdBu_r", "cmin": -m, "cmax": m, "showscale": True, "colorbar": {"title": "direct"}},
        text=[f"L{a} H{b}: {x:+.4f}" for a, b, x in zip(lay.reshape(-1), hd.reshape(-1), v)],
        hovertemplate="%{text}<extra></extra>", selected={"marker": {"opacity": 1}}, unselected={"marker": {"opacity": 1}}))
    if selected is not None:
        fig.add_trace(go.Scatter(x=[selected[1]], y=[selected[0]], mode="markers", hoverinfo="skip", name="selected",
                                 marker={"symbol": "square-open", "size": 22, "color": "black", "line": {"width": 3}}))
    fig.update_layout(title="Per head (click one to open its attention pattern)", showlegend=False,
                      xaxis=_grid_axis("head", list(range(n_h))), yaxis=_grid_axis("layer", list(range(n_l)), True),
                      height=max(260, 24 * n_l + 120), margin={"l": 10, "r": 10, "t": 50, "b": 40},
                      clickmode="event+select", dragmode=False)
    return categorical_axes(fig)


def writes_figure(w: NeuronWrites, variant: str = "normed") -> go.Figure:
    """Promoted (right) and suppressed (left) tokens of one neuron's direct path, as horizontal bars."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("suppresses", "promotes"), horizontal_spacing=0.25)
    for col, direction in ((1, "suppresses"), (2, "promotes")):
        r = w.ranked(variant, direction).iloc[::-1]
        fig.add_trace(go.Bar(x=r["value"], y=[f"{token_label(t)} #{i}" for t, i in zip(r["token"], r["token_id"])],
                             orientation="h", marker_color="#1f77b4" if direction == "suppresses" else "#d62728",
                             hovertemplate="%{y}: %{x:+.4f}<extra></extra>"), row=1, col=col)
    fig.update_layout(title=f"What {w.site} L{w.layer} #{w.dim} writes ({variant})", showlegend=False,
                      height=max(300, 20 * len(w.ranked(variant)) + 120), margin={"l": 10, "r": 10, "t": 60, "b": 10})
    return categorical_axes(fig)


def prompt_heatmap_html(pa: PromptActivations, selected: int | None = None) -> str:
    """The prompt shaded by the neuron's activation (values on hover); the selected token underlined."""
    return context_heatmap_html(list(pa.tokens), pa.values.tolist(), selected)


def prompt_tokens_figure(pa: PromptActivations, selected: int | None = None) -> go.Figure:
    """One square per token, coloured by the activation and labelled by the token; click one for its top neurons."""
    t = len(pa.tokens)
    m = float(np.max(np.abs(pa.values))) or 1.0
    fig = go.Figure(go.Scatter(
        x=list(range(t)), y=pa.values.astype(float), mode="markers+text", name="tokens",
        text=[token_label(tok) for tok in pa.tokens], textposition="top center",
        marker={"symbol": "square", "size": 14, "color": pa.values.astype(float), "colorscale": "RdBu_r",
                "cmin": -m, "cmax": m, "line": {"width": 1, "color": "#555"}},
        hovertemplate="%{x}: %{text}<br>activation %{y:.4g}<extra></extra>",
        selected={"marker": {"opacity": 1}}, unselected={"marker": {"opacity": 1}}))
    if selected is not None and 0 <= selected < t:
        fig.add_trace(go.Scatter(x=[selected], y=[float(pa.values[selected])], mode="markers", hoverinfo="skip",
                                 marker={"symbol": "square-open", "size": 22, "color": "black", "line": {"width": 2}}))
    fig.update_layout(title=f"{pa.site} L{pa.layer} #{pa.dim} on every token (click a token for its top neurons)",
                      xaxis_title="position", yaxis_title="activation", showlegend=False, height=340,
                      margin={"l": 10, "r": 10, "t": 50, "b": 40}, clickmode="event+select", dragmode=False)
    return categorical_axes(fig)


def top_neurons_figure(pa: PromptActivations, position: int) -> go.Figure:
    """The layer's strongest dimensions at one token as clickable points (click one to open that neuron)."""
    top = pa.top_at(position)
    fig = go.Figure(go.Scatter(
        x=top["activation"], y=[f"#{d}" for d in top["dim"]], mode="markers", name="neurons",
        customdata=top["dim"], marker={"symbol": "square", "size": 16, "color": "#ff7f0e"},
        hovertemplate="neuron %{customdata}: %{x:.4g}<extra></extra>",
        selected={"marker": {"opacity": 1}}, unselected={"marker": {"opacity": 1}}))
    fig.update_layout(title=f"Top {len(top)} at position {position} ({token_label(pa.tokens[position])}) — click to open",
                      xaxis_title="activation", yaxis={"autorange": "reversed"}, height=60 + 28 * len(top) + 60,
                      margin={"l": 10, "r": 10, "t": 50, "b": 40}, clickmode="event+select", dragmode=False,
                      showlegend=False)
    return categorical_axes(fig)
