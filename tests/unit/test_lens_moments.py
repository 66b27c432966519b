"""Logit moments from the head's Gram matrix equal the moments of the full logits."""
from __future__ import annotations

import gc

import pytest
import torch

import interp_core.lens.moments as lmo
from interp_core.lens.decode import LensHead, TargetRequest, decode_stats, target_zscores
from interp_core.lens.moments import head_moments


def _weights(bias: bool, vocab=3000, d=24):
    g = torch.Generator().manual_seed(3)
    w = torch.randn(vocab, d, generator=g)
    return w, (torch.randn(vocab, generator=g) * 2 + 1 if bias else None)


@pytest.mark.parametrize("bias", [True, False])
def test_moments_match_full_logits(bias):
    w, b = _weights(bias)
    x = torch.randn(9, 24) * 4 + 1
    logits = x @ w.T + (b if b is not None else 0)  # (N, V)
    mean, std = head_moments(w, b).mean_std(x)
    torch.testing.assert_close(mean, logits.mean(-1), rtol=0, atol=1e-4)
    torch.testing.assert_close(std, logits.std(-1, unbiased=False), rtol=1e-5, atol=1e-4)


def test_cache_follows_the_weight_and_its_version():
    w, b = _weights(True)
    first = head_moments(w, b)
    assert head_moments(w, b) is first
    assert head_moments(w.clone(), b, cached_only=True) is None  # another tensor: nothing cached for it
    with torch.no_grad():
        w.mul_(2)  # an in-place change bumps the version: the old moments are not reused
    assert head_moments(w, b, cached_only=True) is None
    second = head_moments(w, b)
    assert second is not first and torch.allclose(second.gram, first.gram * 4)
    key = id(w)
    del w, first, second
    gc.collect()
    assert key not in lmo._cache  # freed weights leave the cache


@pytest.mark.parametrize("linear", [True, False])
def test_target_zscores_match_full_logits(linear):
    w, b = _weights(True)
    finish = (lambda t: t) if linear else (lambda t: torch.tanh(t / 3) * 3)
    head = LensHead(torch.nn.LayerNorm(24), w, b, finish, linear)
    h = torch.randn(11, 24)
    ids = torch.randint(0, 3000, (11,), generator=torch.Generator().manual_seed(4))
    with torch.inference_mode():
        z = target_zscores(head, h, ids)
        full = head.logits(h)
    want = (full.gather(1, ids[:, None])[:, 0] - full.mean(-1)) / full.std(-1, unbiased=False)
    torch.testing.assert_close(z, want, rtol=0, atol=1e-4)


def test_decode_uses_cached_moments_and_agrees():
    w, b = _weights(True)
    head = LensHead(torch.nn.LayerNorm(24), w, b, lambda t: t, True)
    h = torch.randn(6, 24)
    with torch.inference_mode():
        streamed = decode_stats(head, h, 3, [TargetRequest(torch.zeros(6, dtype=torch.long))])
        head_moments(w, b)
        from_gram = decode_stats(head, h, 3, [TargetRequest(torch.zeros(6, dtype=torch.long))])
    torch.testing.assert_close(from_gram.mean, streamed.mean, rtol=0, atol=1e-4)
    torch.testing.assert_close(from_gram.std, streamed.std, rtol=1e-5, atol=1e-4)
    assert torch.equal(from_gram.top_ids, streamed.top_ids)
    assert torch.equal(from_gram.target_ranks[0], streamed.target_ranks[0])
