"""Streamed vocabulary statistics equal the full-logit computation, whatever the chunking."""
from __future__ import annotations

import pytest
import torch

import interp_core.lens.decode as ld
from interp_core.lens.decode import LensHead, TargetRequest, decode_stats


def _head(vocab=5000, d=16, bias=True, softcap=None):
    g = torch.Generator().manual_seed(0)
    w = torch.randn(vocab, d, generator=g)
    b = torch.randn(vocab, generator=g) if bias else None
    finish = (lambda x: torch.tanh(x / softcap) * softcap) if softcap else (lambda x: x)
    return LensHead(torch.nn.LayerNorm(d), w, b, finish)


@pytest.mark.parametrize("chunk_elems, max_rows", [(1 << 22, 1024), (600, 1024), (600, 7)])
@pytest.mark.parametrize("bias, softcap", [(True, None), (False, 5.0)])
def test_stats_match_full_logits(monkeypatch, chunk_elems, max_rows, bias, softcap):
    monkeypatch.setattr(ld, "_CHUNK_ELEMS", chunk_elems)
    monkeypatch.setattr(ld, "_MIN_CHUNK", 300)  # 5000 / 300 -> 17 vocabulary chunks
    monkeypatch.setattr(ld, "_MAX_ROWS", max_rows)
    head = _head(bias=bias, softcap=softcap)
    h = torch.randn(20, 16, generator=torch.Generator().manual_seed(1))
    tgt = torch.randint(0, 5000, (20,), generator=torch.Generator().manual_seed(2))
    fracs = []
    with torch.inference_mode():
        st = decode_stats(head, h, 7, [TargetRequest(tgt), TargetRequest(tgt.flip(0), rank=False)],
                          lambda f, m: fracs.append(f))
        full = head.logits(h)  # (N, V)
    vals, ids = full.topk(7, -1)
    assert torch.equal(st.top_ids, ids)
    torch.testing.assert_close(st.top_vals, vals, rtol=0, atol=1e-5)
    torch.testing.assert_close(st.lse, full.logsumexp(-1), rtol=0, atol=1e-4)
    torch.testing.assert_close(st.mean, full.mean(-1), rtol=0, atol=1e-4)
    torch.testing.assert_close(st.std, full.std(-1, unbiased=False), rtol=1e-4, atol=1e-4)
    tl = full.gather(1, tgt[:, None])[:, 0]
    torch.testing.assert_close(st.target_logits[0], tl, rtol=0, atol=1e-4)
    assert torch.equal(st.target_ranks[0], (full > tl[:, None]).sum(-1) + 1)
    assert st.target_ranks[1] is None
    torch.testing.assert_close(torch.exp(st.target_logits[0] - st.lse), full.softmax(-1).gather(1, tgt[:, None])[:, 0],
                               rtol=1e-4, atol=1e-7)
    assert fracs == sorted(fracs) and fracs[-1] == pytest.approx(1.0)
    if chunk_elems == 600:
        assert len(fracs) >= 17


def test_target_that_is_top1_has_rank_one():
    head = _head(bias=False)
    h = torch.randn(5, 16)
    with torch.inference_mode():
        top = head.logits(h).argmax(-1)
        st = decode_stats(head, h, 1, [TargetRequest(top)])
    assert (st.target_ranks[0] == 1).all()
