"""Streaming summaries of activations, pure numpy (unit-tested without a model): exact moments, histograms
on a growing shared grid, and the cross-layer Gram matrix for covariance and R²."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from interp_core.errors import UserError


class Moments:
    """Exact count, mean and central moments M2..M4 of a stream, merged batch by batch (Pébay 2008)."""

    def __init__(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.m2 = self.m3 = self.m4 = 0.0
        self.min = math.inf
        self.max = -math.inf

    def add(self, v: np.ndarray) -> None:
        v = np.asarray(v, dtype=np.float64).ravel()
        nb = v.size
        if nb == 0:
            return
        mb = float(v.mean())
        d = v - mb
        d2 = d * d
        m2b, m3b, m4b = float(d2.sum()), float((d2 * d).sum()), float((d2 * d2).sum())
        self._merge(nb, mb, m2b, m3b, m4b, float(v.min()), float(v.max()))

    def merge(self, other: Moments) -> None:
        """Fold another stream's moments into this one (as if its values had been added here)."""
        if other.n:
            self._merge(other.n, other.mean, other.m2, other.m3, other.m4, other.min, other.max)

    def _merge(self, nb: int, mb: float, m2b: float, m3b: float, m4b: float, vmin: float, vmax: float) -> None:
        self.min, self.max = min(self.min, vmin), max(self.max, vmax)
        na, n = self.n, self.n + nb
        if na == 0:
            self.n, self.mean, self.m2, self.m3, self.m4 = nb, mb, m2b, m3b, m4b
            return
        delta = mb - self.mean
        m2a, m3a, m4a = self.m2, self.m3, self.m4
        self.m4 = (m4a + m4b + delta ** 4 * na * nb * (na * na - na * nb + nb * nb) / n ** 3
                   + 6 * delta ** 2 * (na * na * m2b + nb * nb * m2a) / n ** 2 + 4 * delta * (na * m3b - nb * m3a) / n)
        self.m3 = m3a + m3b + delta ** 3 * na * nb * (na - nb) / n ** 2 + 3 * delta * (na * m2b - nb * m2a) / n
        self.m2 = m2a + m2b + delta ** 2 * na * nb / n
        self.mean += delta * nb / n
        self.n = n

    @property
    def std(self) -> float:
        """Population standard deviation (numpy's default, ddof=0)."""
        return math.sqrt(self.m2 / self.n) if self.n else math.nan

    @property
    def kurtosis(self) -> float:
        """Excess kurtosis n·M4/M2² − 3: 0 for a Gaussian, large when a few extreme values dominate."""
        if not self.n or self.m2 <= 0:
            return math.nan
        return self.n * self.m4 / (self.m2 * self.m2) - 3.0


class SharedHistogram:
    """Histograms of several layers on one equal-width bin grid that grows as data arrives.

    Edges are integer multiples of the width w, so when a batch falls outside the current range the grid
    is extended, and if that needs more than `max_bins` bins, w doubles and pairs of bins merge exactly.
    Every value is counted once (counts sum to the number of values); bins follow numpy's rule
    [edge_k, edge_k+1), so `np.histogram(values, edges)` reproduces them.
    """

    def __init__(self, n_layers: int, max_bins: int = 80) -> None:
        if int(max_bins) < 2:
            raise UserError("Use at least 2 histogram bins.")
        self.max_bins = int(max_bins)
        self.w: float | None = None
        self.a = self.b = 0  # absolute indices of the first and one-past-last bin
        self.counts: np.ndarray = np.zeros((n_layers, 0), dtype=np.int64)  # (L, b - a)

    def _index(self, v: np.ndarray) -> np.ndarray:
        """Absolute bin index k with k·w <= v < (k+1)·w, exact in floating point."""
        k = np.floor(v / self.w)
        k -= v < k * self.w
        k += v >= (k + 1) * self.w
        return k.astype(np.int64)

    def _extend(self, lo: float, hi: float) -> None:
        if self.w is None:  # first batch: about max_bins bins over its range
            span = hi - lo
            self.w = span / (self.max_bins - 1) if span > 0 else (abs(hi) * 1e-6 or 1e-6)
        ka, kb = (int(k) for k in self._index(np.array([lo, hi], dtype=np.float64)))
        kb += 1
        if self.b > self.a:
            ka, kb = min(self.a, ka), max(self.b, kb)
        counts, ca = self.counts, self.a  # counts cover absolute bins [ca, ca + counts.shape[1])
        while kb - ka > self.max_bins:  # coarsen: bin k of width w lies inside bin k // 2 of width 2w
            self.w *= 2
            ka, kb = ka // 2, (kb - 1) // 2 + 1
            if counts.shape[1]:
                idx: np.ndarray = np.arange(ca, ca + counts.shape[1]) // 2
                na, nb = int(idx[0]), int(idx[-1]) + 1
                merged: np.ndarray = np.zeros((counts.shape[0], nb - na), dtype=np.int64)
                for i in range(counts.shape[0]):
                    merged[i] = np.bincount(idx - na, weights=counts[i], minlength=nb - na)
                counts, ca = merged, na
        grown: np.ndarray = np.zeros((counts.shape[0], kb - ka), dtype=np.int64)
        grown[:, ca - ka: ca - ka + counts.shape[1]] = counts
        self.counts, self.a, self.b = grown, ka, kb

    def add(self, layers: Sequence[np.ndarray]) -> None:
        """Count one batch: one array of values per layer."""
        vals = [np.asarray(v, dtype=np.float64).ravel() for v in layers]
        sizes = [v for v in vals if v.size]
        if not sizes:
            return
        self._extend(min(float(v.min()) for v in sizes), max(float(v.max()) for v in sizes))
        for i, v in enumerate(vals):
            if v.size:
                self.counts[i] += np.bincount(self._index(v) - self.a, minlength=self.b - self.a)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(edges (K+1,), counts (L, K)), trimmed to the bins between the first and last non-empty one."""
        if self.w is None:
            return np.zeros(1), self.counts
        used = np.flatnonzero(self.counts.sum(axis=0))
        lo, hi = (int(used[0]), int(used[-1]) + 1) if used.size else (0, 0)
        edges = np.arange(self.a + lo, self.a + hi + 1, dtype=np.float64) * self.w
        return edges, self.counts[:, lo:hi].copy()


class CrossLayer:
    """Covariance between layers over all (token, dim) entries: sums of products, shifted for precision."""

    def __init__(self, n_layers: int, chunk: int = 1 << 18) -> None:
        self.shift: np.ndarray | None = None  # (L,) per-layer mean of the first batch
        self.s1 = np.zeros(n_layers)
        self.s2 = np.zeros((n_layers, n_layers))
        self.n = 0
        self.chunk = chunk

    def add(self, x: np.ndarray) -> None:
        """x: (L, E) one row of entries per layer, same entries (token, dim) in every row."""
        if x.shape[1] == 0:
            return
        if self.shift is None:
            self.shift = x.astype(np.float64).mean(axis=1)
        for s in range(0, x.shape[1], self.chunk):
            c = x[:, s:s + self.chunk].astype(np.float64) - self.shift[:, None]  # (L, chunk)
            self.s2 += c @ c.T
            self.s1 += c.sum(axis=1)
        self.n += x.shape[1]

    def merge(self, other: CrossLayer) -> None:
        """Fold another stream's sums into this one (re-shifted to this one's shift)."""
        if not other.n:
            return
        assert other.shift is not None  # set with its first batch (other.n > 0)
        if self.shift is None:
            self.shift, self.s1, self.s2, self.n = other.shift.copy(), other.s1.copy(), other.s2.copy(), other.n
            return
        d = other.shift - self.shift  # (L,): x - a = (x - b) + d
        self.s2 += other.s2 + np.outer(other.s1, d) + np.outer(d, other.s1) + other.n * np.outer(d, d)
        self.s1 += other.s1 + other.n * d
        self.n += other.n

    def cov(self) -> np.ndarray:
        """(L, L) population covariance (np.cov(..., bias=True))."""
        if not self.n:
            return np.full_like(self.s2, np.nan)
        m = self.s1 / self.n
        return self.s2 / self.n - np.outer(m, m)

    def r2(self) -> np.ndarray:
        """(L, L) squared correlation; 1 on the diagonal (NaN for a constant layer)."""
        cov = self.cov()
        var = np.diag(cov).copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            r2 = cov * cov / np.outer(var, var)
        r2 = np.clip(r2, 0.0, 1.0)
        ok = var > 0
        r2[np.ix_(ok, ok)] = np.where(np.eye(int(ok.sum()), dtype=bool), 1.0, r2[np.ix_(ok, ok)])
        return r2
