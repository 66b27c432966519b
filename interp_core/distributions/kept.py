"""Distributions measured once, viewed many ways: the first-token toggle and the bin count need no model.

One pass keeps two sets of streaming summaries: every position but the first of each sequence, and position 0
alone (the BOS / [CLS] outlier). "Exclude the first token" views the first set; "include it" merges the two
(moments, cross-layer sums, per-dimension max |x| and scatter points all merge exactly). Histograms are kept on
a fine grid of about FINE_BINS bins per layer and re-binned to the requested count over the data's exact range:
a value can land at most one fine bin (≈ 1/1,000 of the range) away from where a direct count would put it.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
import torch

from interp_core.budgets import budgets
from interp_core.distributions.run import DistAccumulator, DistResult, _batches, layer_sites
from interp_core.distributions.sampling import Sample
from interp_core.engine.sites import DIST_SITES, choice
from interp_core.errors import UserError
from interp_core.results import Progress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

FINE_BINS = 2048
BINS_RANGE = (2, 400)


@dataclass(frozen=True, eq=False)
class KeptDistributions:
    """The summaries of one pass; `view(exclude_first=..., bins=...)` builds a DistResult without the model."""

    model: str
    site: str
    layers: tuple[int, ...]
    n_sequences: int
    sample: str
    rest: DistAccumulator  # every position except the first of each sequence
    first: DistAccumulator  # position 0 of each sequence

    def frame(self):
        """The default view's table (first token excluded, 80 bins): one row per layer."""
        return self.view().frame()

    def to_dict(self) -> dict:
        """The default view's JSON shape (the result protocol; any other view: `view(...).to_dict()`)."""
        return self.view().to_dict()

    def view(self, *, exclude_first: bool = True, bins: int = 80) -> DistResult:
        """The result for one first-token choice and bin count (milliseconds; no forward pass)."""
        bins = int(bins)
        if not BINS_RANGE[0] <= bins <= BINS_RANGE[1]:
            raise UserError(f"Use between {BINS_RANGE[0]} and {BINS_RANGE[1]} histogram bins.")
        if exclude_first and self.rest.n_tokens == 0:
            raise UserError("Nothing is left to measure once the first token is excluded; "
                            "use a longer prompt or include the first token.")
        parts = [self.rest] if exclude_first else [self.rest, self.first]
        acc = self.rest if exclude_first else _merged(self.rest, self.first)
        res = acc.result(model=self.model, site=self.site, layers=self.layers, n_sequences=self.n_sequences,
                         exclude_first=exclude_first, sample=self.sample)
        lo = np.array([min(p.moments[i].min for p in parts if p.moments[i].n) for i in range(acc.L)])
        hi = np.array([max(p.moments[i].max for p in parts if p.moments[i].n) for i in range(acc.L)])
        edges = _grid(float(lo.min()), float(hi.max()), bins)
        counts = np.sum([_rebin(p.hist, edges) for p in parts], axis=0)  # (L, bins)
        own_edges = tuple(_grid(float(a), float(b), bins) for a, b in zip(lo, hi))
        own_counts = tuple(np.sum([_rebin(p.own[i], e)[0] for p in parts], axis=0) for i, e in enumerate(own_edges))
        return replace(res, edges=edges, counts=counts, own_edges=own_edges, own_counts=own_counts)


def _grid(lo: float, hi: float, bins: int) -> np.ndarray:
    if not hi > lo:
        pad = max(abs(lo) * 1e-6, 1e-6)
        lo, hi = lo - pad, hi + pad
    return np.linspace(lo, hi, bins + 1)


def _rebin(hist, edges: np.ndarray) -> np.ndarray:
    """A fine SharedHistogram's counts (L, K) moved onto `edges` (bins + 1,): each fine bin goes where its centre lies."""
    fine_edges, fine = hist.result()
    bins = len(edges) - 1
    out = np.zeros((fine.shape[0], bins), dtype=np.int64)
    if fine.shape[1] == 0:
        return out
    centres = (fine_edges[:-1] + fine_edges[1:]) / 2
    idx = np.clip(np.searchsorted(edges, centres, side="right") - 1, 0, bins - 1)
    for i in range(fine.shape[0]):
        out[i] = np.bincount(idx, weights=fine[i], minlength=bins).astype(np.int64)
    return out


def _merged(a: DistAccumulator, b: DistAccumulator) -> DistAccumulator:
    """a and b's summaries as one accumulator (a is left untouched)."""
    m = copy.copy(a)
    m.moments = [copy.copy(x) for x in a.moments]
    for x, y in zip(m.moments, b.moments):
        x.merge(y)
    m.cross = copy.deepcopy(a.cross)
    m.cross.merge(b.cross)
    m.absmax = np.maximum(a.absmax, b.absmax)
    m.points = [*a.points, *b.points]
    m.n_points = a.n_points + b.n_points
    m.n_tokens = a.n_tokens + b.n_tokens
    return m


def measure(lm: LoadedModel, sample: Sample, *, site: str = "resid", scatter_points: int = 1500, batch_tokens: int = 512,
            progress: Progress | None = None, seed: int = 0) -> KeptDistributions:
    """Run `sample` through `lm` once, keeping what every (first-token, bins) view needs.

    progress(fraction, message) after every batch; whatever it raises propagates (that is how a caller cancels).
    """
    sites = layer_sites(lm.adapter, site)
    if not sample.sequences:
        raise UserError("There is nothing to measure; give a prompt or a corpus.")
    budgets().histogram_tokens.check(sample.n_tokens)
    width = choice(site, DIST_SITES).width(lm.adapter)
    kept = sum(max(len(s) - 1, 0) for s in sample.sequences)
    rest = DistAccumulator(len(sites), width, bins=FINE_BINS, expected_tokens=kept, scatter_points=scatter_points,
                           seed=seed)
    first = DistAccumulator(len(sites), width, bins=FINE_BINS, expected_tokens=len(sample.sequences),
                            scatter_points=scatter_points, seed=seed + 1)
    first.rate = rest.rate  # position 0 sampled as densely as the rest, so the merged scatter stays uniform
    total, done = sample.n_tokens, 0
    for idx in _batches(sample, batch_tokens):
        ids = torch.tensor([sample.sequences[i] for i in idx], dtype=torch.long)  # (B, T)
        B, T = ids.shape
        res = lm.run(ids, capture=sites, need_logits=False)
        acts = np.stack([res.cache[s].float().cpu().numpy() for s in sites])  # (L, B, T, D)
        del res
        first.add(np.ascontiguousarray(acts[:, :, 0]), np.asarray(idx), np.zeros(B, dtype=np.int64))
        rest.add(acts[:, :, 1:].reshape(len(sites), B * (T - 1), -1), np.repeat(np.asarray(idx), T - 1),
                 np.tile(np.arange(1, T), B))
        done += B * T
        if progress is not None:
            progress(done / total, f"{done:,} / {total:,} tokens")
    return KeptDistributions(lm.spec.name, site, tuple(s.layer for s in sites if s.layer is not None), len(sample.sequences),
                             sample.description, rest, first)
