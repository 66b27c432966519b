"""Figures for activation distributions: DistResult -> plotly Figure (no model, no Streamlit)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from interp_core.engine.sites import layer_title

SITE_TITLES = {"resid": "residual stream", "attn_out": "attention output", "mlp_out": "MLP output",
               "mlp": "MLP neurons"}


def _pick(result, layers: Sequence[int] | None) -> list[int]:
    """Row indices of the requested layers (all when None), in network order."""
    if layers is None:
        return list(range(len(result.layers)))
    want = set(int(l) for l in layers)
    return [i for i, l in enumerate(result.layers) if l in want]


def _grid(n: int, cols: int = 4) -> tuple[int, int]:
    cols = max(1, min(cols, n))
    return math.ceil(n / cols), cols


def _title(result, what: str) -> str:
    """What the chart shows on the first line; the measurement's details, smaller, on the second (never cut off)."""
    first = "first token excluded" if result.exclude_first else "first token included"
    return (f"{what}<br><sup>{SITE_TITLES.get(result.site, result.site)} · {result.model} · "
            f"{result.n_tokens:,} tokens × {result.width} dims · {first}</sup>")


TOP_MARGIN = 90  # room for the two-line title


def _layer_name(result, i: int) -> str:
    return layer_title(result.labels[i])


def histogram_figure(result, mode: str = "grid", layers: Sequence[int] | None = None,
                     shared: bool = False) -> go.Figure:
    """Per-layer histograms, log-scale counts: small multiples ('grid') or 'overlay'.

    shared=False (the default) gives each small multiple its own bins over its own range, so the embeddings and
    early layers are not squeezed into one or two bars next to a late layer's outliers; shared=True is the
    explicit choice to put every layer on the same bins (and x axis).
    Overlaid histograms always use the shared bins (counts are only comparable on a common grid).
    """
    rows = _pick(result, layers)
    edges = np.asarray(result.edges, dtype=float)
    centers, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    if mode == "overlay":
        fig = go.Figure()
        colors = sample_colorscale("Viridis", [k / max(len(rows) - 1, 1) for k in range(len(rows))])
        for c, i in zip(colors, rows):
            counts = np.where(result.counts[i] > 0, result.counts[i], np.nan)
            fig.add_trace(go.Scatter(x=centers, y=counts, mode="lines", line_shape="hvh", line=dict(color=c, width=1.5),
                                     name=_layer_name(result, i),
                                     hovertemplate="value %{x:.4g}<br>count %{y:,}<extra>%{fullData.name}</extra>"))
        fig.update_yaxes(type="log", title_text="count (log)")
        fig.update_xaxes(title_text="activation value")
        fig.update_layout(height=520, title=_title(result, "Histograms"), legend_title_text="layer",
                          margin=dict(t=TOP_MARGIN))
        return fig
    if mode != "grid":
        raise ValueError(f"mode must be 'grid' or 'overlay', not {mode!r}")
    n_rows, n_cols = _grid(max(len(rows), 1))
    fig = make_subplots(rows=n_rows, cols=n_cols, shared_xaxes=shared,
                        subplot_titles=[_layer_name(result, i) for i in rows],
                        vertical_spacing=min(0.08, 0.5 / n_rows), horizontal_spacing=0.05)
    for k, i in enumerate(rows):
        raw = result.counts[i]
        if not shared:
            e = np.asarray(result.own_edges[i], dtype=float)
            centers, width, raw = (e[:-1] + e[1:]) / 2, np.diff(e), result.own_counts[i]
        counts = np.where(raw > 0, raw, np.nan)
        fig.add_trace(go.Bar(x=centers, y=counts, width=width, marker_color="#4c78a8", showlegend=False,
                             name=_layer_name(result, i),
                             hovertemplate="value %{x:.4g}<br>count %{y:,}<extra>%{fullData.name}</extra>"),
                      row=k // n_cols + 1, col=k % n_cols + 1)
    fig.update_yaxes(type="log")
    what = "Histograms (log counts, shared bins)" if shared else "Histograms (log counts, each layer's own bins)"
    fig.update_layout(height=max(260, 200 * n_rows), bargap=0, title=_title(result, what), margin=dict(t=TOP_MARGIN))
    return fig


def scatter_figure(result, x: str = "position", layers: Sequence[int] | None = None) -> go.Figure:
    """Activation value against token position or dimension, one panel per layer (the random subsample)."""
    if x not in ("position", "dim"):
        raise ValueError(f"x must be 'position' or 'dim', not {x!r}")
    rows = _pick(result, layers)
    n_rows, n_cols = _grid(max(len(rows), 1))
    fig = make_subplots(rows=n_rows, cols=n_cols, shared_xaxes=True,
                        subplot_titles=[_layer_name(result, i) for i in rows],
                        vertical_spacing=min(0.08, 0.5 / n_rows), horizontal_spacing=0.05)
    df = result.scatter
    for k, i in enumerate(rows):
        part = df[df["layer"] == result.layers[i]]
        custom = np.stack([part["seq"].to_numpy(), part["position"].to_numpy(), part["dim"].to_numpy()], axis=-1) \
            if len(part) else None
        fig.add_trace(go.Scattergl(x=part[x], y=part["value"], mode="markers", showlegend=False,
                                   marker=dict(size=3, opacity=0.5, color="#e45756"), customdata=custom,
                                   name=_layer_name(result, i),
                                   hovertemplate="seq %{customdata[0]} · pos %{customdata[1]} · dim %{customdata[2]}"
                                                 "<br>value %{y:.4g}<extra>%{fullData.name}</extra>"),
                      row=k // n_cols + 1, col=k % n_cols + 1)
    label = "token position" if x == "position" else "dimension"
    fig.update_xaxes(title_text=label, row=n_rows)
    n_pts = len(df) // max(len(result.layers), 1)
    fig.update_layout(height=max(260, 200 * n_rows),
                      title=_title(result, f"Value vs {label} ({n_pts:,} random points per layer)"),
                      margin=dict(t=TOP_MARGIN))
    return fig


def matrix_figure(result, which: str = "r2") -> go.Figure:
    """Annotated heatmap of the between-layer covariance ('cov') or R² ('r2') matrix."""
    if which not in ("cov", "r2"):
        raise ValueError(f"which must be 'cov' or 'r2', not {which!r}")
    z = np.asarray(result.r2 if which == "r2" else result.cov, dtype=float)
    labels = list(result.labels)
    n = len(labels)
    heat = go.Heatmap(
        z=z, x=labels, y=labels, colorscale="Viridis" if which == "r2" else "RdBu_r",
        zmin=0 if which == "r2" else None, zmax=1 if which == "r2" else None,
        zmid=None if which == "r2" else 0.0,
        texttemplate="%{z:.2f}" if which == "r2" else "%{z:.3g}", textfont=dict(size=max(7, 13 - n // 3)),
        hovertemplate="layer %{y} × layer %{x}<br>%{z:.4g}<extra></extra>",
        colorbar=dict(title="R²" if which == "r2" else "cov"))
    fig = go.Figure(heat)
    fig.update_xaxes(title_text="layer", type="category")
    fig.update_yaxes(title_text="layer", type="category", autorange="reversed")
    what = "R² between layers (squared correlation, all tokens and dims)" if which == "r2" \
        else "Covariance between layers (all tokens and dims)"
    side = max(420, 34 * n + 160)
    fig.update_layout(height=side, title=_title(result, what), margin=dict(t=TOP_MARGIN))
    return fig


def spread_figure(result) -> go.Figure:
    """Std, largest |value| and kurtosis per layer: how the shape changes with depth at a glance."""
    st = result.stats
    labels = list(result.labels)
    absmax = np.maximum(st["max"].abs().to_numpy(dtype=float), st["min"].abs().to_numpy(dtype=float))
    fig = make_subplots(rows=1, cols=2, subplot_titles=["std and max |value| (log)", "excess kurtosis"])
    fig.add_trace(go.Scatter(x=labels, y=st["std"], mode="lines+markers", name="std"), row=1, col=1)
    fig.add_trace(go.Scatter(x=labels, y=absmax, mode="lines+markers", name="max |value|"), row=1, col=1)
    fig.add_trace(go.Scatter(x=labels, y=st["kurtosis"], mode="lines+markers", name="kurtosis"), row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_xaxes(title_text="layer", type="category")
    fig.update_layout(height=360, title=_title(result, "Spread per layer"), margin=dict(t=TOP_MARGIN))
    return fig
