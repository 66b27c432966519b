"""A norm with its scale frozen at one clean input: the linear map that direct attribution pushes each
residual component through, plus the constant (bias) term it adds. LayerNorm and RMSNorm (x·w or x·(1+w))."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from interp_core.errors import UserError


@dataclass(frozen=True)
class FrozenNorm:
    """norm(x_clean + ...) linearised: apply(c) = (c [- mean c]) · scale · gain; bias added once."""

    apply: Callable[[torch.Tensor], torch.Tensor]  # (..., D) -> (..., D), linear
    gain: torch.Tensor  # (D,) the norm's effective per-dimension weight
    bias: torch.Tensor  # (D,) zero for RMSNorm
    scale: float  # 1/σ (LayerNorm) or 1/rms (RMSNorm) at the clean input
    centred: bool  # LayerNorm subtracts each component's mean


def _eps(norm: nn.Module) -> float:
    for name in ("eps", "variance_epsilon", "epsilon"):
        v = getattr(norm, name, None)
        if isinstance(v, (int, float)):
            return float(v)
    return 1e-6


def is_layer_norm(norm: nn.Module) -> bool:
    return isinstance(norm, nn.LayerNorm) or (getattr(norm, "bias", None) is not None and "LayerNorm" in type(norm).__name__)


def norm_gain(norm: nn.Module, d: int, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(gain, bias), each (D,), of a LayerNorm or RMSNorm, read off the module itself (no family rules)."""
    if is_layer_norm(norm):
        w = norm.weight if norm.weight is not None else torch.ones(d, dtype=dtype, device=device)
        b = norm.bias if norm.bias is not None else torch.zeros(d, dtype=dtype, device=device)
        return w.detach().to(dtype), b.detach().to(dtype)
    eps = _eps(norm)
    ones = torch.ones(d, dtype=dtype, device=device)  # rms(ones) = 1, so norm(ones) = gain / sqrt(1 + eps)
    gain = norm(ones).to(dtype) * (1.0 + eps) ** 0.5
    return gain, torch.zeros(d, dtype=dtype, device=device)


@dataclass(frozen=True)
class FrozenRows:
    """A norm frozen at each of N inputs (rows): apply(c) for c (N, ..., D) scales row n by scale[n]."""

    gain: torch.Tensor  # (D,)
    bias: torch.Tensor  # (D,) zero for RMSNorm
    scale: torch.Tensor  # (N,) 1/σ or 1/rms of each row's clean input
    centred: bool

    def apply(self, c: torch.Tensor) -> torch.Tensor:
        c = c.float()
        if self.centred:
            c = c - c.mean(-1, keepdim=True)
        return c * self.scale.view(-1, *([1] * (c.dim() - 1))) * self.gain


def freeze_rows(norm: nn.Module, x_clean: torch.Tensor) -> FrozenRows:
    """Linearise `norm` at each row of x_clean (N, D); checks that the linear map reproduces norm(x_clean)."""
    x = x_clean.float()
    eps = _eps(norm)
    gain, bias = norm_gain(norm, x.shape[-1], torch.float32, x.device)
    centred = is_layer_norm(norm)
    spread = x.var(-1, unbiased=False) if centred else (x * x).mean(-1)
    rows = FrozenRows(gain.float(), bias.float(), 1.0 / torch.sqrt(spread + eps), centred)
    want = norm(x_clean).float()
    got = rows.apply(x) + rows.bias
    if not torch.allclose(got, want, rtol=1e-3, atol=1e-4 * float(want.abs().max()) + 1e-5):
        raise UserError(f"The {type(norm).__name__} in this model is neither a LayerNorm nor an RMSNorm, "
                        "so its output cannot be split into direct contributions.")
    return rows


def freeze(norm: nn.Module, x_clean: torch.Tensor) -> FrozenNorm:
    """Linearise `norm` at x_clean (D,); checks that the linear map reproduces norm(x_clean)."""
    rows = freeze_rows(norm, x_clean.reshape(1, -1))
    scale = float(rows.scale[0])
    gain = rows.gain

    if rows.centred:
        def apply(c: torch.Tensor) -> torch.Tensor:
            return (c.float() - c.float().mean(-1, keepdim=True)) * scale * gain
    else:
        def apply(c: torch.Tensor) -> torch.Tensor:
            return c.float() * scale * gain
    return FrozenNorm(apply, gain, rows.bias, scale, rows.centred)
