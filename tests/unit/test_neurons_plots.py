"""Pure parts of the neuron explorer: figures, the escaped context heatmap, winner counting, the reservoir."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from interp_core.neurons.seed import count_winners, sample_offsets
from interp_core.plots.neurons import (context_heatmap_html, histogram_figure, layer_figure, token_label,
                                       top_tokens_figure, winners_figure)
from interp_core.neurons.scan_pass import window_batches as _window_batches
from interp_core.neurons.scan_state import ScanState, token_hash


def _stats(m=50):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"index": np.arange(m), "mean": rng.normal(size=m), "std": rng.random(m),
                         "max": rng.random(m) * 5, "min": -rng.random(m), "frac_active": rng.random(m)})


def test_heatmap_escapes_tokens_and_shades_by_activation():
    out = context_heatmap_html(["<script>", " alert(1)", "</script>", "&amp;"], [0.0, 2.0, -4.0, 4.0], pos=1)
    assert "<script>" not in out and "&lt;script&gt;" in out and "&amp;amp;" in out
    assert "rgba(255,140,0,0.50)" in out  # +2 of scale 4 -> half alpha, orange
    assert "rgba(30,110,255,1.00)" in out  # -4 -> full blue
    assert out.count("font-weight:bold") == 1
    assert "⏎" in context_heatmap_html(["a", "\n"], [1, 1])
    context_heatmap_html(["x"], [0.0])  # all-zero activations do not divide by zero


def test_layer_figure_points_and_selection():
    st = _stats()
    fig = layer_figure(st, "frac_active", selected=7)
    assert len(fig.data[0].x) == 50 and list(fig.data[0].customdata[:3]) == [0, 1, 2]
    assert fig.data[1].x[0] == 7 and fig.data[1].y[0] == pytest.approx(st["frac_active"][7])
    assert len(layer_figure(st, "max").data) == 1
    with pytest.raises(ValueError):
        layer_figure(st, "median")


def test_winners_and_top_tokens_figures():
    samples = pd.DataFrame({"sample": range(6), "token": [" before", " first", " before", "<b>", " before", " first"],
                            "token_id": [5, 7, 5, 9, 5, 7]})
    w = count_winners(samples)
    assert w["token"].tolist() == [" before", " first", "<b>"] and w["count"].tolist() == [3, 2, 1]
    assert w["fraction"].tolist() == pytest.approx([0.5, 1 / 3, 1 / 6])
    fig = winners_figure(w)
    assert list(fig.data[0].x) == [1, 2, 3]  # most frequent at the top of a horizontal bar chart
    assert "&lt;b&gt;" in fig.data[0].y[0] and token_label(" a") == "␣a"
    fig = top_tokens_figure(samples)
    assert sorted(fig.data[0].x) == [1, 2, 3]
    assert histogram_figure(np.arange(10.0), threshold=0.0).data[0].x.shape == (10,)


def test_offsets_are_the_documented_formula():
    got = sample_offsets(1000, 64, 4, 3, seed=5)
    assert np.array_equal(got, np.random.default_rng(5).integers(0, 937, size=(3, 4)))
    assert got.min() >= 0 and got.max() <= 936


def test_window_batches_cover_every_token_once():
    covered = []
    for starts, t in _window_batches(1000, 64, 5):
        for s in starts:
            covered.extend(range(s, s + t))
    assert covered == list(range(1000))


def test_hashed_sample_is_flat_uniform_and_shard_independent():
    r, n, hits = 50, 1000, np.zeros(1000)
    for seed in range(200):  # the sample is the r tokens with the smallest seeded hash of their index
        vals = np.argsort(token_hash(np.arange(n), seed), kind="stable")[:r]
        assert len(set(vals.tolist())) == r
        hits[vals] += 1
    # each row kept with probability r/n = 5%: early and late halves are kept equally often
    assert abs(hits[:500].sum() - hits[500:].sum()) < 0.15 * hits.sum()
    rows = torch.arange(n, dtype=torch.float32)[:, None]  # activation == corpus index

    def state(chunks):
        s = ScanState.empty(1, 3, "cpu", reservoir=r)
        for lo, hi in chunks:
            s.update(rows[lo:hi], np.arange(lo, hi))
        return s

    whole = state([(a, min(a + 128, n)) for a in range(0, n, 128)])
    vals = whole.sample[:, 0].numpy().astype(int)
    assert sorted(vals.tolist()) == sorted(np.argsort(token_hash(np.arange(n)), kind="stable")[:r].tolist())
    parts = state([(0, 300), (300, 301)]).merge(state([(700, 1000)])).merge(state([(301, 700)]))
    # rows sit in any slot while scanning; the finished sample is in hash order, the same for any sharding
    assert np.array_equal(parts.finish()["sample"], whole.finish()["sample"]) and torch.equal(parts.top_v, whole.top_v)
    assert torch.equal(parts.top_i, whole.top_i) and parts.n == whole.n == n
    small = state([(0, 3)])
    assert sorted(small.sample[:, 0].tolist()) == [0.0, 1.0, 2.0]


def test_top_k_ties_go_to_the_lower_index_whatever_the_batches():
    acts = torch.tensor([[1.0], [5.0], [5.0], [2.0], [5.0], [0.0]])
    for chunks in ([(0, 6)], [(0, 2), (2, 6)], [(0, 1), (1, 3), (3, 4), (4, 6)]):
        s = ScanState.empty(1, 2, "cpu")
        for lo, hi in chunks:
            s.update(acts[lo:hi], np.arange(lo, hi))
        assert s.top_v[:, 0].tolist() == [5.0, 5.0] and s.top_i[:, 0].tolist() == [1, 2]
