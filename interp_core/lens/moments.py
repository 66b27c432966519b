"""Mean and standard deviation of a linear head's logits over the whole vocabulary, with no vocabulary pass.

For logits l = W x + b (W (V, D), b (V,)): mean = x·w̄ + b̄ and E[l²] = xᵀ(WᵀW/V)x + 2x·(Wᵀb/V) + mean(b²).
With the (D, D) Gram matrix WᵀW computed once per head (about as much work as one lens of 600 cells, then
cached), a z-score of any token at any hidden state costs O(D²) instead of O(V·D): the masked and
next-token sweeps need nothing else. Heads with a non-linear finish (Gemma 2's soft-capping) do not qualify.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import torch

_GRAM_ROWS = 1024  # vocabulary rows per fp32 block; blocks are summed in fp64 (keeps the rounding small)


@dataclass(frozen=True)
class HeadMoments:
    """Sufficient statistics of (W, b) for logit moments, in float64; D = hidden size, V = vocabulary."""

    vocab: int
    version: int  # the weight's in-place version counter when computed (a changed weight recomputes)
    gram: torch.Tensor  # (D, D) WᵀW
    w_sum: torch.Tensor  # (D,) Σ_v w_v
    wb: torch.Tensor  # (D,) Wᵀb (zeros without bias)
    b_sum: float
    b2_sum: float

    def mean_std(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, D) pre-mapped hidden states -> mean (N,) and population std (N,) of their logits, float32."""
        x = x.to(self.gram.device, torch.float64)
        mean = (x @ self.w_sum + self.b_sum) / self.vocab
        e2 = (((x @ self.gram) * x).sum(-1) + 2 * (x @ self.wb) + self.b2_sum) / self.vocab
        var = (e2 - mean * mean).clamp_min(0.0)
        return mean.float(), var.sqrt().float()


# id(weight) -> (weak reference to the weight, its moments); an entry leaves when its weight is freed
# (tensors compare elementwise, so a WeakKeyDictionary cannot hold them).
_cache: dict[int, tuple[weakref.ref, HeadMoments]] = {}
_lock = threading.Lock()


def _forget(key: int, ref: weakref.ref) -> None:
    with _lock:
        if key in _cache and _cache[key][0] is ref:
            del _cache[key]


def head_moments(weight: torch.Tensor, bias: torch.Tensor | None, cached_only: bool = False) -> HeadMoments | None:
    """The moments of (weight, bias), computed once per weight tensor; `cached_only` never computes."""
    with _lock:
        entry = _cache.get(id(weight))
    if entry is not None and entry[0]() is weight and entry[1].version == getattr(weight, "_version", None):
        return entry[1]
    if cached_only:
        return None
    vocab, d = weight.shape
    dev = weight.device
    gram = torch.zeros((d, d), dtype=torch.float64, device=dev)
    w_sum = torch.zeros(d, dtype=torch.float64, device=dev)
    wb = torch.zeros(d, dtype=torch.float64, device=dev)
    with torch.inference_mode():
        for v0 in range(0, vocab, _GRAM_ROWS):
            w = weight[v0:v0 + _GRAM_ROWS].float()  # (r, D)
            gram += (w.T @ w).double()
            w_sum += w.sum(0).double()
            if bias is not None:
                wb += (w.T @ bias[v0:v0 + _GRAM_ROWS].float()).double()
        b = bias.double() if bias is not None else None
        moments = HeadMoments(vocab, weight._version, gram, w_sum, wb,
                              float(b.sum()) if b is not None else 0.0, float((b * b).sum()) if b is not None else 0.0)
    key = id(weight)
    def forget(r: weakref.ref, key: int = key) -> None:
        _forget(key, r)
    ref = weakref.ref(weight, forget)
    with _lock:
        _cache[key] = (ref, moments)
    return moments
