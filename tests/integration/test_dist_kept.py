"""Distributions measured once: the first-token toggle and the bin count are views, with no forward pass."""
import numpy as np
import pytest
import torch

from interp_core import UserError
from interp_core.distributions import activation_distributions, corpus_sample, layer_sites, measure
from tiny_models import TEXT


def _plain(lm, sample, site, skip):
    """(L, N*D) float64: every activation captured one sequence at a time, first token dropped if asked."""
    sites = layer_sites(lm.adapter, site)
    rows = [[] for _ in sites]
    for seq in sample.sequences:
        r = lm.run(torch.tensor([seq]), capture=sites)
        for i, s in enumerate(sites):
            rows[i].append(r.cache[s][0, skip:].double().numpy().ravel())
    return np.stack([np.concatenate(r) for r in rows])


def _close(x, edges, counts, w):
    """Re-binned counts differ from a direct count only by values within one fine bin (width w) of an edge."""
    want = np.histogram(x, edges)[0]
    moved = np.abs(np.cumsum(want) - np.cumsum(counts))[:-1]  # values on the wrong side of each inner edge
    near = np.array([np.count_nonzero(np.abs(x - e) <= w) for e in edges[1:-1]])
    assert (moved <= near).all(), (moved, near)
    assert np.abs(want - counts).sum() < 0.05 * x.size


@pytest.mark.parametrize("family,site", [("gpt2", "resid"), ("gemma3", "mlp"), ("bert", "attn_out")])
def test_views_equal_direct_measurements_without_the_model(tiny_models, family, site, monkeypatch):
    lm = tiny_models[family]
    sample = corpus_sample(lm, TEXT, 150, window=40)
    kept = measure(lm, sample, site=site, batch_tokens=64)
    direct = {ef: _plain(lm, sample, site, skip=int(ef)) for ef in (True, False)}
    reference = activation_distributions(lm, sample, site=site, exclude_first=True, bins=30, batch_tokens=64)

    def refuse(*a, **k):
        raise AssertionError("a view ran the model")
    monkeypatch.setattr(lm, "run", refuse)
    monkeypatch.setattr(lm.model, "forward", refuse)
    for ef in (True, False):
        x = direct[ef]
        L, D = x.shape[0], kept.rest.D
        for bins in (30, 7):
            v = kept.view(exclude_first=ef, bins=bins)
            assert v.exclude_first == ef and v.n_tokens * D == x.shape[1]
            st = v.stats
            np.testing.assert_allclose(st["mean"], x.mean(axis=1), rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(st["std"], x.std(axis=1), rtol=1e-9)
            np.testing.assert_allclose(st["min"], x.min(axis=1), atol=1e-12)
            np.testing.assert_allclose(st["max"], x.max(axis=1), atol=1e-12)
            c = x - x.mean(axis=1, keepdims=True)
            np.testing.assert_allclose(st["kurtosis"], (c ** 4).mean(1) / (c ** 2).mean(1) ** 2 - 3, rtol=1e-8)
            per_dim = np.abs(x.reshape(L, -1, D)).max(axis=1)
            for i in range(L):
                assert list(st["outlier_dims"][i]) == list(np.argsort(-per_dim[i], kind="stable")[:5])
            np.testing.assert_allclose(v.cov, np.cov(x, bias=True), rtol=1e-7, atol=1e-9)
            np.testing.assert_allclose(v.r2, np.corrcoef(x) ** 2, rtol=1e-7, atol=1e-9)
            # histograms: exactly `bins` bins over the data range; every value counted once; within one fine bin
            assert v.counts.shape == (L, bins) and (v.counts.sum(axis=1) == x.shape[1]).all()
            parts = [kept.rest] if ef else [kept.rest, kept.first]
            w_shared = max(p.hist.w for p in parts)
            for i in range(L):
                _close(x[i], v.edges, v.counts[i], w_shared)
                assert v.own_counts[i].sum() == x.shape[1]
                _close(x[i], v.own_edges[i], v.own_counts[i], max(p.own[i].w for p in parts))
                assert v.own_edges[i][0] == pytest.approx(x[i].min()) and v.own_edges[i][-1] == pytest.approx(x[i].max())
    # excluding the first token: the scatter subsample is the one a direct run draws
    v = kept.view(exclude_first=True, bins=30)
    assert v.scatter.equals(reference.scatter)
    assert (kept.view(exclude_first=False).scatter["position"] == 0).any()
    with pytest.raises(UserError, match="bins"):
        kept.view(bins=1)
