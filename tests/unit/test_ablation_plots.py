"""Ablation figures from hand-made results: right traces, right values, tokens escaped."""
import pandas as pd
import plotly.graph_objects as go

from interp_core.ablation import SWEEP_COLUMNS, Comparison, SelfRepair, Side, TokenProb
from interp_core.plots.ablation import (head_sweep_figure, layer_sweep_figure, scale_sweep_figure,
                                        self_repair_figure, topk_figure)


def _side(*pairs):
    return Side(tuple(TokenProb(t, i, p, 1.0) for i, (t, p) in enumerate(pairs)), pairs[0][1], 1.0, 1)


def _frame(**cols):
    n = len(next(iter(cols.values())))
    base = {c: [None] * n for c in SWEEP_COLUMNS}
    base.update(top_token_ablated=["<script>"] * n, top_prob_ablated=[0.5] * n)
    base.update(cols)
    return pd.DataFrame(base, columns=SWEEP_COLUMNS)


def test_topk_figure_side_by_side_and_escaped():
    c = Comparison(5, " of", _side((" Paris", 0.7), ("<script>", 0.1)), _side((" the", 0.4), (" Paris", 0.2)), 1.25)
    fig = topk_figure(c)
    assert isinstance(fig, go.Figure) and len(fig.data) == 2
    assert list(fig.data[0].x) == [0.7, 0.1] and list(fig.data[1].x) == [0.4, 0.2]
    assert "&lt;script&gt;" in fig.data[0].y[1] and "<script>" not in fig.data[0].y[1]
    assert "1.250" in fig.layout.title.text


def test_layer_sweep_bars_and_fallback_to_kl():
    f = _frame(layer=[0, 1, 2], kl=[0.1, 2.0, 0.3], target_prob_delta=[0.0, -0.6, 0.1])
    fig = layer_sweep_figure(f)
    assert list(fig.data[0].y) == [0.0, -0.6, 0.1]
    assert fig.data[0].marker.color[1] == "#E45756"  # a drop is drawn red
    no_target = layer_sweep_figure(_frame(layer=[0, 1], kl=[0.5, 0.7]))
    assert list(no_target.data[0].y) == [0.5, 0.7] and "KL" in no_target.layout.yaxis.title.text


def test_head_heatmap_grid():
    f = _frame(layer=[0, 0, 1, 1], head=[0, 1, 0, 1], kl=[1.0, 2.0, 3.0, 4.0], target_prob_delta=[-.1, -.2, -.3, -.4])
    fig = head_sweep_figure(f)
    assert fig.data[0].z.tolist() == [[-.1, -.2], [-.3, -.4]]
    assert list(fig.data[0].x) == ["0", "1"] and fig.data[0].zmid == 0


def test_scale_and_self_repair():
    f = _frame(layer=[2, 2, 2], scale=[0.0, 1.0, 2.0], kl=[1.0, 0.0, 0.5], target_prob_ablated=[0.1, 0.7, 0.8])
    fig = scale_sweep_figure(f)
    assert list(fig.data[0].x) == [0.0, 1.0, 2.0] and list(fig.data[0].y) == [0.1, 0.7, 0.8]
    sr = SelfRepair(" Paris", clean_logit=10.0, direct_logit=6.0, total_logit=9.0)
    assert sr.direct_effect == -4.0 and sr.total_effect == -1.0 and sr.ratio == 0.25
    fig = self_repair_figure(sr)
    assert list(fig.data[0].y) == [-4.0, -1.0] and "0.25" in fig.layout.title.text
    assert SelfRepair("x", 1.0, 1.0, 3.0).ratio is None
