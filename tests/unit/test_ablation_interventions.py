"""Intervention functions on plain tensors: positions, features, methods and patch alignment."""
import pytest
import torch

from interp_core import Site, UserError
from interp_core.ablation.generation import first_divergence
from interp_core.ablation.interventions import (Ablation, alignment, make_intervention, parse_ints, parse_positions,
                                       resolve_positions)
from interp_core.ablation.refstats import RefStats, text_chunks
from interp_core.ablation.counterfactual import PatchSource


def _stats(feat, mean=2.0, std=1.0):
    return RefStats("m", Site("resid", 0), "c", "sha", 10, torch.full(feat, mean), torch.full(feat, mean + 1),
                    torch.full(feat, std))


def test_positions_parse_and_resolve():
    assert parse_positions("all") == "all" and parse_positions("LAST") == "last"
    assert parse_positions("1, 3,-1") == (1, 3, -1)
    assert resolve_positions("all", 5) is None
    assert resolve_positions("last", 5) == (4,)
    assert resolve_positions((1, -1, 1), 5) == (1, 4)
    with pytest.raises(UserError, match="outside the prompt"):
        resolve_positions((5,), 5)
    with pytest.raises(UserError, match="not an integer"):
        parse_ints("1,x", "heads")


def test_zero_only_at_chosen_positions_and_heads():
    x = torch.randn(2, 5, 4, 3)  # (B, T, H, Dh)
    ab = Ablation("head", 0, "zero", heads=(1, 3), positions=(0, 4))
    y = make_intervention(ab, resolve_positions(ab.positions, 5), prompt_len=5)(x)
    assert torch.equal(y[:, [0, 4]][:, :, [1, 3]], torch.zeros(2, 2, 2, 3))
    keep = torch.ones(5, 4, dtype=torch.bool)
    keep[[0, 0, 4, 4], [1, 3, 1, 3]] = False
    assert torch.equal(y[:, keep], x[:, keep])


def test_neurons_mean_median_scale_noise():
    x = torch.randn(1, 4, 6)  # (B, T, M)
    st = _stats((6,))
    mean = make_intervention(Ablation("neuron", 0, "mean", indices=(2,)), None, prompt_len=4, stats=st)(x)
    assert torch.equal(mean[..., 2], torch.full((1, 4), 2.0)) and torch.equal(mean[..., [0, 1, 3, 4, 5]],
                                                                              x[..., [0, 1, 3, 4, 5]])
    med = make_intervention(Ablation("mlp_out", 0, "median"), None, prompt_len=4, stats=st)(x)
    assert torch.equal(med, torch.full_like(x, 3.0))
    sc = make_intervention(Ablation("mlp_out", 0, "scale", scale=-2.0, positions="last"), (3,), prompt_len=4)(x)
    assert torch.equal(sc[:, 3], -2 * x[:, 3]) and torch.equal(sc[:, :3], x[:, :3])
    noisy = Ablation("mlp_out", 0, "noise", noise_std=0.5, seed=7)
    a = make_intervention(noisy, None, prompt_len=4, stats=_stats((6,), std=2.0))(x)
    b = make_intervention(noisy, None, prompt_len=4, stats=_stats((6,), std=2.0))(x)
    assert torch.equal(a, b)  # seeded: reproducible
    assert 0.5 < float((a - x).std()) < 1.6  # σ = 0.5 × std 2.0 = 1.0
    with pytest.raises(UserError, match="reference corpus"):
        make_intervention(Ablation("mlp_out", 0, "mean"), None, prompt_len=4)


def test_patch_right_aligned_and_generated_positions_untouched():
    x = torch.zeros(1, 6, 2)  # 4 prompt tokens + 2 generated
    src = PatchSource("m", Site("resid", 1), 2, ("a", "b", "c"), torch.arange(6.).view(3, 2))  # (Tc=3, D)
    y = make_intervention(Ablation("resid", 1, "patch"), None, prompt_len=4, patch=src)(x)
    assert torch.equal(y[0, 0], torch.zeros(2))  # no counterpart for the first clean token
    assert torch.equal(y[0, 1:4], src.activation)  # clean 1..3 <- cf 0..2
    assert torch.equal(y[0, 4:], torch.zeros(2, 2))  # generated positions keep their own values
    rows = alignment(("w", "x", "y", "z"), ("a", "b", "c"))
    assert [r["cf_position"] for r in rows] == [None, 0, 1, 2] and rows[3]["cf_token"] == "c"
    longer = alignment(("x", "y"), ("a", "b", "c"))
    assert [r["cf_position"] for r in longer] == [1, 2]


def test_label_and_chunks_and_divergence():
    assert Ablation("head", 3, "scale", heads=(1,), scale=0.5).label() == "scale ×0.5 at head 3 head 1 (all)"
    text = ("word " * 500).strip()
    chunks = list(text_chunks(text, 100))
    assert "".join(chunks) == text and all(len(c) <= 100 for c in chunks)
    assert list(text_chunks("short prompt", 100)) == ["short prompt"]
    assert first_divergence([1, 2, 3], [1, 2, 3]) is None
    assert first_divergence([1, 2, 3], [1, 5, 3]) == 1
    assert first_divergence([1, 2], [1, 2, 3]) == 2
