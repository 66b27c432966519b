"""The Information Flow Routes contribution of a part to a sum (Ferrando & Voita, 2024), and the threshold
with renormalisation that prunes a graph. Pure tensor arithmetic, no model."""
from __future__ import annotations

import torch

EPS = 1e-5  # the floor of a part's proximity, as in the method's definition


def proximity(parts: torch.Tensor, whole: torch.Tensor) -> torch.Tensor:
    """max(‖whole‖₁ − ‖whole − part‖₁, ε) of every part: whole (N..., D), parts (N..., P..., D) -> (N..., P...).

    Unnormalised: divide by the sum over every part of the same whole (`shares`). The L1 distances come from one
    fused pass (torch.cdist), never a materialised (whole − parts) tensor."""
    k = parts.dim() - whole.dim()
    if k < 0 or parts.shape[:whole.dim() - 1] != whole.shape[:-1] or parts.shape[-1] != whole.shape[-1]:
        raise ValueError(f"parts {tuple(parts.shape)} do not match the whole's shape {tuple(whole.shape)}")
    lead, rest, d = whole.shape[:-1], parts.shape[whole.dim() - 1:-1], whole.shape[-1]
    w = whole.reshape(-1, 1, d)  # (N, 1, D)
    distance = torch.cdist(w, parts.reshape(w.shape[0], -1, d), p=1)[:, 0]  # (N, P)
    whole_norm = w[:, 0].abs().sum(-1, keepdim=True)  # (N, 1)
    return (whole_norm - distance).clamp(min=EPS).reshape(*lead, *rest)


def shares(parts: torch.Tensor, whole: torch.Tensor) -> torch.Tensor:
    """Each part's proximity normalised over the parts (the dimensions after the whole's own): they sum to 1."""
    p = proximity(parts, whole)
    k = parts.dim() - whole.dim()
    return p / p.sum(dim=tuple(range(whole.dim() - 1, p.dim())), keepdim=True) if k else p / p


def threshold_renormalise(blocks: torch.Tensor, residual: torch.Tensor,
                          threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero every share at or below `threshold`, then renormalise what is left of each whole to sum to 1.

    residual (N...) is the residual stream's share of each whole; blocks (N..., P...) the other parts' shares.
    A whole with nothing left keeps all zeros (no division by zero)."""
    extra = blocks.dim() - residual.dim()
    if extra < 0 or blocks.shape[:residual.dim()] != residual.shape:
        raise ValueError(f"residual {tuple(residual.shape)} is not a prefix of blocks {tuple(blocks.shape)}")
    b = blocks * (blocks > threshold)
    r = residual * (residual > threshold)
    denom = r + b.sum(dim=tuple(range(residual.dim(), blocks.dim()))) if extra else r + b
    safe = torch.where(denom > 0, denom, torch.ones_like(denom))
    return b / safe.reshape(*safe.shape, *([1] * extra)), r / safe
