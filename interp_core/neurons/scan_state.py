"""The running state of a scan for one site: top-k, moments and a histogram sample, with an exact `merge`.

A state only ever sees (activations, corpus token indices) pairs, so it does not care which process or
which shard produced them. Every part merges exactly:
- top-k is ordered by (value descending, corpus index ascending), a strict total order, so the top-k of a
  union equals the top-k of the merged top-ks whatever the sharding (ties broken by the lower index);
- extrema and the active count are exact; sums are float64 (equal within rounding across shardings);
- the histogram sample is the R tokens with the smallest seeded hash of their corpus index (a uniform
  sample without replacement), so it is the same sample for any sharding and any batch order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

RESERVOIR = 2048  # activations kept per neuron for the histogram (a uniform sample of corpus tokens)
SAMPLE_SEED = 0
_HASH_MASK = np.uint64((1 << 63) - 1)


def token_hash(index: np.ndarray, seed: int = SAMPLE_SEED) -> np.ndarray:
    """splitmix64 of (seed, corpus token index), as non-negative int64 (63 bits); same on every machine."""
    with np.errstate(over="ignore"):
        z = index.astype(np.uint64) + np.uint64(seed + 1) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z & _HASH_MASK).astype(np.int64)


def _ordered_topk(values: torch.Tensor, index: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top k rows per column of (n, M) candidates by (value desc, index asc): a deterministic total order."""
    by_index = torch.sort(index, dim=0, stable=True)  # ascending index first ...
    v = torch.gather(values, 0, by_index.indices)
    by_value = torch.sort(v, dim=0, descending=True, stable=True)  # ... then value; stable keeps index order on ties
    sel = by_value.indices[:k]
    return by_value.values[:k].contiguous(), torch.gather(by_index.values, 0, sel)


@dataclass
class ScanState:
    """Running statistics of one site's M neurons over the tokens seen so far (tensors on `device`)."""

    top_v: torch.Tensor  # (k, M) float32, ordered by (value desc, index asc); -inf padding
    top_i: torch.Tensor  # (k, M) int64 corpus token indices; -1 padding
    total: torch.Tensor  # (M,) float64 sum
    total_sq: torch.Tensor  # (M,) float64 sum of squares
    vmax: torch.Tensor  # (M,) float32
    vmin: torch.Tensor  # (M,) float32
    active: torch.Tensor  # (M,) int64 tokens above the threshold
    sample: torch.Tensor  # (r, M) float32 activations of the sampled tokens, r <= R
    sample_hash: np.ndarray  # (r,) int64 their hashes, ascending
    sample_index: np.ndarray  # (r,) int64 their corpus indices
    n: int  # tokens seen
    threshold: float
    reservoir: int

    @classmethod
    def empty(cls, width: int, top_k: int, device, threshold: float = 0.0, reservoir: int = RESERVOIR) -> ScanState:
        m, k = width, top_k
        return cls(top_v=torch.full((k, m), -torch.inf, device=device),
                   top_i=torch.full((k, m), -1, dtype=torch.long, device=device),
                   total=torch.zeros(m, dtype=torch.float64, device=device),
                   total_sq=torch.zeros(m, dtype=torch.float64, device=device),
                   vmax=torch.full((m,), -torch.inf, device=device), vmin=torch.full((m,), torch.inf, device=device),
                   active=torch.zeros(m, dtype=torch.long, device=device),
                   sample=torch.zeros((0, m), device=device), sample_hash=np.zeros(0, np.int64),
                   sample_index=np.zeros(0, np.int64), n=0, threshold=float(threshold), reservoir=int(reservoir))

    @property
    def k(self) -> int:
        return int(self.top_v.shape[0])

    def update(self, acts: torch.Tensor, gidx: np.ndarray) -> None:
        """Fold in acts (N, M) (any float dtype, any device) at corpus token indices gidx (N,)."""
        acts = acts.to(self.top_v.device).float()
        n = acts.shape[0]
        # per-batch sums in float32 (cheap, BLAS column sums), accumulated in float64 across batches
        ones = torch.ones((1, n), device=acts.device)
        self.total += acts.sum(0).double()
        self.total_sq += torch.mm(ones, acts * acts)[0].double()
        torch.maximum(self.vmax, acts.amax(0), out=self.vmax)
        torch.minimum(self.vmin, acts.amin(0), out=self.vmin)
        # column counts as a (1, N) x (N, M) product: a strided .sum(0) of a bool matrix is ~4x slower on a CPU
        self.active += torch.mm(ones, (acts > self.threshold).float())[0].long()  # exact: counts < 2^24
        g = torch.from_numpy(np.ascontiguousarray(gidx, dtype=np.int64)).to(acts.device)
        kk = min(self.k, n)
        v, ix = torch.topk(acts, kk, dim=0)  # (k', M) candidates; exactness comes from the ordered merge
        if kk < n:  # values tied with the k'-th may have been cut arbitrarily: re-pick those columns exactly
            edge = v[-1:]
            cut = torch.mm(ones, (acts >= edge).float())[0].gt(kk).nonzero().flatten()  # (C,) ties cut at the edge
            if cut.numel():
                if bool(np.all(np.diff(gidx) > 0)):  # rows in corpus order: a stable sort keeps the lowest index first
                    sv, si = torch.sort(acts[:, cut], dim=0, descending=True, stable=True)  # only those columns
                    v[:, cut], ix[:, cut] = sv[:kk], si[:kk]
                else:  # any row order: keep every row as a candidate and let the ordered merge decide
                    v, ix = torch.sort(acts, dim=0, descending=True, stable=True)
        self.top_v, self.top_i = _ordered_topk(torch.cat([self.top_v, v]), torch.cat([self.top_i, g[ix]]), self.k)
        self._sample_update(acts, gidx)
        self.n += n

    def _sample_update(self, acts: torch.Tensor, gidx: np.ndarray) -> None:
        h = token_hash(np.asarray(gidx))
        if self.sample_hash.size >= self.reservoir:
            cand = np.flatnonzero(h < self.sample_hash[-1])  # only tokens that beat the current R-th hash
        else:
            cand = np.arange(h.size)
        if cand.size == 0:
            return
        rows = acts[torch.from_numpy(cand).to(acts.device)]
        self._sample_merge(rows, h[cand], np.asarray(gidx)[cand])

    def _sample_merge(self, rows: torch.Tensor, h: np.ndarray, idx: np.ndarray) -> None:
        all_h = np.concatenate([self.sample_hash, h])
        all_i = np.concatenate([self.sample_index, idx])
        order = np.lexsort((all_i, all_h))[:self.reservoir]  # smallest hashes (ties: lower index)
        all_rows = torch.cat([self.sample, rows.to(self.sample.device).float()])
        self.sample = all_rows[torch.from_numpy(order).to(all_rows.device)]
        self.sample_hash, self.sample_index = all_h[order], all_i[order]

    def merge(self, other: ScanState) -> ScanState:
        """Fold another shard's state into this one (exact for top-k, extrema, counts and the sample)."""
        if other.top_v.shape != self.top_v.shape:
            raise ValueError(f"cannot merge scan states of shapes {tuple(self.top_v.shape)} and {tuple(other.top_v.shape)}")
        dev = self.top_v.device
        self.top_v, self.top_i = _ordered_topk(torch.cat([self.top_v, other.top_v.to(dev)]),
                                               torch.cat([self.top_i, other.top_i.to(dev)]), self.k)
        self.total += other.total.to(dev)
        self.total_sq += other.total_sq.to(dev)
        torch.maximum(self.vmax, other.vmax.to(dev), out=self.vmax)
        torch.minimum(self.vmin, other.vmin.to(dev), out=self.vmin)
        self.active += other.active.to(dev)
        self._sample_merge(other.sample, other.sample_hash, other.sample_index)
        self.n += other.n
        return self

    def to(self, device) -> ScanState:
        """A copy with every tensor on `device` (e.g. 'cpu' before sending a shard's state home)."""
        t = {k: getattr(self, k).to(device) for k in ("top_v", "top_i", "total", "total_sq", "vmax", "vmin",
                                                      "active", "sample")}
        return ScanState(**t, sample_hash=self.sample_hash.copy(), sample_index=self.sample_index.copy(), n=self.n,
                         threshold=self.threshold, reservoir=self.reservoir)

    def finish(self) -> dict:
        """Numpy arrays for a ScanResult: top values/indices, stats columns, the sample (rows in hash order)."""
        c = self.to("cpu")
        done = max(c.n, 1)
        mean = c.total / done
        var = (c.total_sq / done - mean ** 2).clamp_min(0)
        return {"top_values": c.top_v.numpy().astype(np.float32), "top_index": c.top_i.numpy().astype(np.int64),
                "mean": mean.numpy(), "std": var.sqrt().numpy(), "max": c.vmax.double().numpy(),
                "min": c.vmin.double().numpy(), "frac_active": (c.active.double() / done).numpy(),
                "sample": c.sample.numpy(), "n": c.n}
