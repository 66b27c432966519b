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
    last_index: int = -1  # the highest corpus index folded in (batches in corpus order merge with one sort)

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
        n, m = acts.shape
        gidx = np.ascontiguousarray(gidx, dtype=np.int64)
        # column sums as (1, N) x (N, M) products: BLAS reads rows; a strided .sum(0) is several times slower on a CPU
        ones = torch.ones((1, n), device=acts.device)
        self.total += torch.mm(ones, acts)[0].double()  # per batch in float32, accumulated in float64
        self.total_sq += torch.mm(ones, acts * acts)[0].double()
        groups = max(2 * self.k, 64)
        per = n // groups
        group_max = acts[:per * groups].view(per, groups, m).amax(0) if per >= 2 else None  # (G, M)
        batch_max = group_max.amax(0) if group_max is not None else acts.amax(0)
        if group_max is not None and per * groups < n:
            batch_max = torch.maximum(batch_max, acts[per * groups:].amax(0))
        # 1.0 where above the threshold: at 0 (and no NaN, which amax passes on), sign + clamp is the same and twice
        # as fast as a comparison cast to float
        fast = self.threshold == 0.0 and not bool(torch.isnan(batch_max).any())
        above = torch.sign(acts).clamp_(min=0) if fast else (acts > self.threshold).float()
        self.active += torch.mm(ones, above)[0].long()  # exact: counts < 2^24
        del above
        torch.maximum(self.vmax, batch_max, out=self.vmax)
        torch.minimum(self.vmin, acts.amin(0), out=self.vmin)
        g = torch.from_numpy(gidx).to(acts.device)
        cand = self._candidates(acts, g, group_max) if group_max is not None else None
        # batches in corpus order: every candidate comes after every kept index and candidates sit in row order, so
        # a stable sort by value alone already breaks ties by the lower index
        in_order = cand is not None and n > 0 and int(gidx[0]) > self.last_index and bool(np.all(np.diff(gidx) > 0))
        if cand is None:
            cand = self._candidates_by_topk(acts, g, gidx)
        if in_order:
            by_value = torch.sort(torch.cat([self.top_v, cand[0]]), dim=0, descending=True, stable=True)
            sel = by_value.indices[:self.k]
            self.top_v = by_value.values[:self.k].contiguous()
            self.top_i = torch.gather(torch.cat([self.top_i, cand[1]]), 0, sel)
        else:
            self.top_v, self.top_i = _ordered_topk(torch.cat([self.top_v, cand[0]]),
                                                   torch.cat([self.top_i, cand[1]]), self.k)
        self._sample_update(acts, gidx)
        self.n += n
        if n:
            self.last_index = max(self.last_index, int(gidx.max()))

    def _candidates(self, acts: torch.Tensor, g: torch.Tensor, group_max: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Every (value, index) of the batch that may enter the top-k, as (C, M) columns padded with (-inf, -1),
        each column's candidates in row order; None when there are too many (many ties at the edge).

        A value may enter only if it reaches the k-th value of the union, which is at least the state's k-th
        value and at least the k-th largest of the G disjoint row groups' maxima `group_max` (each of those k
        groups holds one value that high). Values equal to that bound are kept too, so the ordered merge settles
        ties exactly."""
        n, m = acts.shape
        k = self.k
        bound = torch.maximum(torch.topk(group_max, k, dim=0).values[-1], self.top_v[-1])  # (M,)
        if acts.device.type == "cpu":  # numpy's compare and flatnonzero are several times faster than torch's here
            flat = torch.from_numpy(np.flatnonzero(acts.numpy() >= bound.numpy()[None, :]))
        else:
            flat = (acts >= bound[None, :]).reshape(-1).nonzero().flatten()
        if flat.numel() > 4 * k * m:
            return None
        rows, cols = flat // m, flat % m
        counts = torch.bincount(cols, minlength=m)  # (M,)
        depth = int(counts.max()) if counts.numel() else 0
        if depth > 8 * k:
            return None
        order = torch.argsort(cols, stable=True)
        rows, cols = rows[order], cols[order]
        start = torch.cumsum(counts, 0) - counts
        slot = torch.arange(cols.numel(), device=acts.device) - start[cols]
        v = torch.full((depth, m), -torch.inf, device=acts.device)
        ix = torch.full((depth, m), -1, dtype=torch.long, device=acts.device)
        v[slot, cols] = acts[rows, cols]
        ix[slot, cols] = g[rows]
        return v, ix

    def _candidates_by_topk(self, acts: torch.Tensor, g: torch.Tensor, gidx: np.ndarray
                            ) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's own top-k per column with its ties at the edge re-picked exactly (the general path)."""
        n = acts.shape[0]
        kk = min(self.k, n)
        v, ix = torch.topk(acts, kk, dim=0)  # (k', M) candidates; exactness comes from the ordered merge
        if kk < n:  # values tied with the k'-th may have been cut arbitrarily: re-pick those columns exactly
            ones = torch.ones((1, n), device=acts.device)
            cut = torch.mm(ones, (acts >= v[-1:]).float())[0].gt(kk).nonzero().flatten()  # (C,) ties cut at the edge
            if cut.numel():
                if bool(np.all(np.diff(gidx) > 0)):  # rows in corpus order: a stable sort keeps the lowest index first
                    sv, si = torch.sort(acts[:, cut], dim=0, descending=True, stable=True)  # only those columns
                    v[:, cut], ix[:, cut] = sv[:kk], si[:kk]
                else:  # any row order: keep every row as a candidate and let the ordered merge decide
                    v, ix = torch.sort(acts, dim=0, descending=True, stable=True)
        return v, g[ix]

    def _sample_update(self, acts: torch.Tensor, gidx: np.ndarray) -> None:
        h = token_hash(gidx)
        if self.sample_hash.size >= self.reservoir:
            cand = np.flatnonzero(h < self.sample_hash.max())  # only tokens that beat the current R-th hash
        else:
            cand = np.arange(h.size)
        if cand.size:
            self._sample_merge(acts, cand, h[cand], gidx[cand])

    def _sample_merge(self, src: torch.Tensor, rows: np.ndarray, h: np.ndarray, idx: np.ndarray) -> None:
        """Keep the R smallest (hash, index) of the sample and the rows `rows` of `src`. Kept rows stay in their
        slots and a new row takes an evicted row's slot (appended while the reservoir fills), so only the new rows
        that make it are copied, not the whole sample; `finish` puts the rows in hash order."""
        r_old = self.sample_hash.size
        keep = np.lexsort((np.concatenate([self.sample_index, idx]),
                           np.concatenate([self.sample_hash, h])))[:self.reservoir]  # ties: lower index
        new = keep[keep >= r_old] - r_old  # the new rows that made it
        kept_old: np.ndarray = np.zeros(r_old, dtype=bool)
        kept_old[keep[keep < r_old]] = True
        free = np.flatnonzero(~kept_old)  # evicted slots; never more than the new rows that replace them
        into, extra = new[:free.size], new[free.size:]

        def take(which: np.ndarray) -> torch.Tensor:
            return src[torch.from_numpy(rows[which]).to(src.device)].to(self.sample.device).float()

        if into.size:
            self.sample[torch.from_numpy(free).to(self.sample.device)] = take(into)
            self.sample_hash[free], self.sample_index[free] = h[into], idx[into]
        if extra.size:
            self.sample = torch.cat([self.sample, take(extra)])
            self.sample_hash = np.concatenate([self.sample_hash, h[extra]])
            self.sample_index = np.concatenate([self.sample_index, idx[extra]])

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
        self._sample_merge(other.sample, np.arange(other.sample_hash.size), other.sample_hash, other.sample_index)
        self.n += other.n
        self.last_index = max(self.last_index, other.last_index)
        return self

    def to(self, device) -> ScanState:
        """A copy with every tensor on `device` (e.g. 'cpu' before sending a shard's state home)."""
        t = {k: getattr(self, k).to(device) for k in ("top_v", "top_i", "total", "total_sq", "vmax", "vmin",
                                                      "active", "sample")}
        return ScanState(**t, sample_hash=self.sample_hash.copy(), sample_index=self.sample_index.copy(), n=self.n,
                         threshold=self.threshold, reservoir=self.reservoir, last_index=self.last_index)

    def finish(self) -> dict:
        """Numpy arrays for a ScanResult: top values/indices, stats columns, the sample (rows in hash order)."""
        c = self.to("cpu")
        order = torch.from_numpy(np.lexsort((c.sample_index, c.sample_hash)))
        done = max(c.n, 1)
        mean = c.total / done
        var = (c.total_sq / done - mean ** 2).clamp_min(0)
        return {"top_values": c.top_v.numpy().astype(np.float32), "top_index": c.top_i.numpy().astype(np.int64),
                "mean": mean.numpy(), "std": var.sqrt().numpy(), "max": c.vmax.double().numpy(),
                "min": c.vmin.double().numpy(), "frac_active": (c.active.double() / done).numpy(),
                "sample": c.sample[order].numpy(), "n": c.n}
