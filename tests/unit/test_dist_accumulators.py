"""Streaming summaries of activation distributions agree with numpy on the concatenated data."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from interp_core import UserError
from interp_core.distributions import CrossLayer, DistAccumulator, Moments, SharedHistogram


def _batches(seed, n_batches, n_layers=3, grow=True):
    rng = np.random.default_rng(seed)
    out = []
    for b in range(n_batches):
        scale = (b + 1) ** 2 if grow else 1.0
        out.append([rng.standard_normal(rng.integers(1, 400)) * scale * (i + 1) + i for i in range(n_layers)])
    return out


@settings(max_examples=30, deadline=None)
@given(seed=hs.integers(0, 10_000), n_batches=hs.integers(1, 8), bins=hs.integers(2, 120))
def test_shared_histogram_equals_numpy(seed, n_batches, bins):
    batches = _batches(seed, n_batches)
    h = SharedHistogram(3, bins)
    for b in batches:
        h.add(b)
    edges, counts = h.result()
    assert len(edges) - 1 <= bins and counts.shape == (3, len(edges) - 1)
    widths = np.diff(edges)
    np.testing.assert_allclose(widths, widths[0], rtol=1e-9)  # equal width
    for i in range(3):
        v = np.concatenate([b[i] for b in batches])
        assert counts[i].sum() == v.size
        np.testing.assert_array_equal(np.histogram(v, edges)[0], counts[i])


def test_histogram_outlier_after_first_batch_coarsens_grid():
    h = SharedHistogram(1, 20)
    h.add([np.linspace(-1, 1, 100)])
    w0 = h.w
    h.add([np.array([1e3, -5.0])])
    edges, counts = h.result()
    assert h.w > w0 and counts.sum() == 102 and len(edges) - 1 <= 20
    assert edges[0] <= -5.0 and edges[-1] > 1e3


def test_histogram_constant_values():
    h = SharedHistogram(2, 10)
    h.add([np.full(7, 3.0), np.full(5, 3.0)])
    edges, counts = h.result()
    assert counts.tolist() == [[7], [5]] and edges[0] <= 3.0 < edges[1]


def test_histogram_needs_two_bins():
    with pytest.raises(UserError):
        SharedHistogram(1, 1)


@settings(max_examples=30, deadline=None)
@given(seed=hs.integers(0, 10_000), n_batches=hs.integers(1, 8), offset=hs.sampled_from([0.0, 1e3, -1e4]))
def test_moments_merge_equals_numpy(seed, n_batches, offset):
    batches = [b[0] + offset for b in _batches(seed, n_batches, 1)]
    m = Moments()
    for b in batches:
        m.add(b)
    v = np.concatenate(batches)
    c = v - v.mean()
    assert m.n == v.size
    assert m.mean == pytest.approx(v.mean(), rel=1e-12, abs=1e-9)
    assert m.std == pytest.approx(v.std(), rel=1e-9)
    assert (m.min, m.max) == (v.min(), v.max())
    if v.size > 1 and c.std() > 0:
        assert m.kurtosis == pytest.approx((c ** 4).mean() / (c ** 2).mean() ** 2 - 3, rel=1e-7, abs=1e-9)


def test_cross_layer_matches_np_cov_and_corrcoef():
    rng = np.random.default_rng(3)
    base = rng.standard_normal(5000)
    x = np.stack([base * 2 + 100, base + 0.5 * rng.standard_normal(5000), rng.standard_normal(5000) - 7])
    cl = CrossLayer(3, chunk=700)
    for part in np.array_split(x, 6, axis=1):
        cl.add(part.astype(np.float32))
    x32 = x.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(cl.cov(), np.cov(x32, bias=True), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(cl.r2(), np.corrcoef(x32) ** 2, rtol=1e-9, atol=1e-12)
    assert (np.diag(cl.r2()) == 1.0).all() and cl.r2()[0, 1] > 0.7 and cl.r2()[0, 2] < 0.01


def test_constant_layer_has_nan_r2_but_others_fine():
    cl = CrossLayer(2)
    cl.add(np.stack([np.ones(50), np.arange(50.0)]))
    r2 = cl.r2()
    assert np.isnan(r2[0, 0]) and np.isnan(r2[0, 1]) and r2[1, 1] == 1.0


def test_accumulator_rejects_non_finite():
    acc = DistAccumulator(2, 4, expected_tokens=3)
    acts = np.zeros((2, 3, 4), dtype=np.float32)
    acts[1, 2, 0] = np.inf
    with pytest.raises(UserError, match="NaN or infinite"):
        acc.add(acts, np.zeros(3, int), np.arange(3))


def test_accumulator_scatter_is_bounded_and_aligned():
    rng = np.random.default_rng(0)
    acc = DistAccumulator(2, 8, expected_tokens=400, scatter_points=100, seed=1)
    for b in range(4):
        acts = rng.standard_normal((2, 100, 8)).astype(np.float32)
        acts[1] = acts[0] * 10  # layer 1 is layer 0 scaled: same entries must show the same ratio
        acc.add(acts, np.full(100, b), np.arange(100))
    res = acc.result(model="m", site="mlp_out", layers=[0, 1], n_sequences=4, exclude_first=False, sample="s")
    sc = res.scatter
    a, b = sc[sc["layer"] == 0], sc[sc["layer"] == 1]
    assert 0 < len(a) <= 100 and len(a) == len(b)
    np.testing.assert_allclose(b["value"].to_numpy(), 10 * a["value"].to_numpy(), rtol=1e-6)
    assert (a[["seq", "position", "dim"]].to_numpy() == b[["seq", "position", "dim"]].to_numpy()).all()
    assert res.n_tokens == 400 and (res.counts.sum(axis=1) == 400 * 8).all()
    assert res.r2[0, 1] == pytest.approx(1.0)
