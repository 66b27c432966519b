"""The TopK SAE trainer on synthetic data with planted sparse directions: it recovers them (cosine >= 0.9), and the
SAE it returns reads raw activations (the training scale folded in) as the SAE formulas written here say."""
from __future__ import annotations

import torch

from interp_core.features.topk_train import TopKTrainer, TrainConfig

D, N_TRUE, N = 32, 48, 24000


def _data(dirs: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    on = (torch.rand(n, N_TRUE, generator=g) < 3 / N_TRUE).float() * (0.5 + torch.rand(n, N_TRUE, generator=g))
    return (on @ dirs + 0.01 * torch.randn(n, D, generator=g) + 0.3) * 40  # offset and a large scale, like a residual


def test_topk_sae_recovers_planted_directions():
    g = torch.Generator().manual_seed(0)
    dirs = torch.randn(N_TRUE, D, generator=g)
    dirs /= dirs.norm(dim=-1, keepdim=True)
    tr = TopKTrainer(D, TrainConfig(latents=96, k=4, lr=3e-3, batch_tokens=256, buffer_tokens=8192))
    x = _data(dirs, N, 1)
    tr.begin_epoch()
    for i in range(0, N, 2000):  # streamed in chunks, as the scan pipeline delivers them
        tr.feed(x[i:i + 2000])
    tr.flush()
    sae = tr.sae("blocks.0.hook_resid_post", "synthetic")
    rows = sae.W_dec / sae.W_dec.norm(dim=-1, keepdim=True)
    best = (dirs @ rows.T).max(1).values  # (N_TRUE,) best cosine of each planted direction
    assert (best >= 0.9).float().mean() >= 0.9, best
    held = _data(dirs, 3000, 2)
    pre = (held - sae.b_dec) @ sae.W_enc + sae.b_enc  # the SAE formulas on raw inputs
    v, i = pre.topk(4, dim=-1)
    z = torch.zeros_like(pre).scatter(-1, i, v.clamp_min(0))
    torch.testing.assert_close(sae.encode(held), z)
    rec = z @ sae.W_dec + sae.b_dec
    ev = 1 - (held - rec).pow(2).sum() / (held - held.mean(0)).pow(2).sum()
    assert ev > 0.8
    assert (z > 0).sum(-1).float().mean() <= 4
