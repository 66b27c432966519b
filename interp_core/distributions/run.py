"""Activation distributions per layer: how the hidden states change shape through the network.

Tokens are streamed through the model in batches and only running summaries are kept, so memory stays
bounded however many tokens are measured (5,000 tokens x 19 layers x 640 dims would be 240 MB if kept):
exact central moments (merged per batch), min/max, per-dimension max |x|, histograms on one bin grid
shared by all layers, the cross-layer Gram matrix for covariance and R², and a fixed random subsample of
points for the scatter plots.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from interp_core.distributions.sampling import Sample
from interp_core.distributions.stats import CrossLayer, Moments, SharedHistogram
from interp_core.engine.model import LoadedModel
from interp_core.engine.sites import DIST_SITES, Site, choice
from interp_core.budgets import budgets
from interp_core.engine.scheduler import scheduled
from interp_core.errors import UserError
from interp_core.results import Progress

STAT_COLUMNS = ["layer", "label", "n", "mean", "std", "min", "max", "kurtosis", "outlier_dims", "outlier_abs_max"]
OUTLIER_COLUMNS = ["layer", "label", "rank", "dim", "abs_max"]
SCATTER_COLUMNS = ["layer", "label", "seq", "position", "dim", "value"]
N_OUTLIERS = 5


def layer_sites(adapter, site: str) -> list[Site]:
    """The canonical sites measured for a user site name (resid has L+1 entries, the others L)."""
    c = choice(site, DIST_SITES)
    return [c.site(l) for l in c.layers(adapter.n_layers)]


@dataclass(frozen=True)
class DistResult:
    """Everything the page, the CLI and the tests read. Layers index rows of `counts`, `cov` and `r2`."""

    model: str
    site: str  # resid | attn_out | mlp_out | mlp
    layers: tuple[int, ...]
    labels: tuple[str, ...]
    width: int  # values per token at this site (d_model, or d_mlp for MLP neurons)
    n_sequences: int
    n_tokens: int  # tokens measured per layer (after the first-token exclusion)
    exclude_first: bool
    sample: str
    stats: pd.DataFrame  # STAT_COLUMNS, one row per layer
    outliers: pd.DataFrame  # OUTLIER_COLUMNS, N_OUTLIERS rows per layer
    edges: np.ndarray  # (K+1,) shared bin edges
    counts: np.ndarray  # (L, K) int64
    own_edges: tuple[np.ndarray, ...]  # per layer (K_l+1,): each layer on its own grid, to zoom into it
    own_counts: tuple[np.ndarray, ...]  # per layer (K_l,) int64
    cov: np.ndarray  # (L, L)
    r2: np.ndarray  # (L, L)
    scatter: pd.DataFrame  # SCATTER_COLUMNS: a fixed random subsample, same (token, dim) entries in every layer

    def hist_frame(self, shared: bool = True) -> pd.DataFrame:
        """Long table of the histograms (shared bins, or each layer's own): layer, label, bin_left, bin_right, count."""
        if shared:
            edges, counts = [self.edges] * len(self.layers), list(self.counts)
        else:
            edges, counts = list(self.own_edges), list(self.own_counts)
        return pd.DataFrame({
            "layer": np.concatenate([np.full(len(c), l) for l, c in zip(self.layers, counts)]),
            "label": np.concatenate([np.full(len(c), lab, dtype=object) for lab, c in zip(self.labels, counts)]),
            "bin_left": np.concatenate([e[:-1] for e in edges]), "bin_right": np.concatenate([e[1:] for e in edges]),
            "count": np.concatenate(counts).astype(np.int64),
        })

    def matrix_frame(self, which: str) -> pd.DataFrame:
        """The covariance or R² matrix as a table with layer labels on both axes."""
        m = {"cov": self.cov, "r2": self.r2}[which]
        return pd.DataFrame(m, index=list(self.labels), columns=list(self.labels)).reset_index(names="layer")

    def frame(self) -> pd.DataFrame:
        """One row per layer: STAT_COLUMNS."""
        return self.stats

    def to_dict(self) -> dict:
        """The headless JSON shape."""
        stats = []
        for row in self.stats.itertuples(index=False):
            stats.append({"layer": int(row.layer), "label": row.label, "n": int(row.n), "mean": row.mean,
                          "std": row.std, "min": row.min, "max": row.max, "kurtosis": row.kurtosis,
                          "outlier_dims": [int(d) for d in row.outlier_dims],
                          "outlier_abs_max": [float(v) for v in row.outlier_abs_max]})
        return {
            "model": self.model, "site": self.site, "exclude_first": self.exclude_first, "sample": self.sample,
            "n_sequences": self.n_sequences, "n_tokens": self.n_tokens, "width": self.width,
            "layers": list(self.layers), "labels": list(self.labels), "stats": stats,
            "hist": [{"layer": int(l), "edges": self.edges.tolist(), "counts": self.counts[i].tolist()}
                     for i, l in enumerate(self.layers)],
            "cov": self.cov.tolist(), "r2": self.r2.tolist(),
        }


class DistAccumulator:
    """Feeds batches of activations (L, N, D) into every summary; `result()` builds the DistResult."""

    def __init__(self, n_layers: int, width: int, *, bins: int = 80, expected_tokens: int = 0,
                 scatter_points: int = 1500, seed: int = 0) -> None:
        self.L, self.D = n_layers, width
        self.moments = [Moments() for _ in range(n_layers)]
        self.hist = SharedHistogram(n_layers, bins)
        self.own = [SharedHistogram(1, bins) for _ in range(n_layers)]  # each layer on its own grid
        self.cross = CrossLayer(n_layers)
        self.absmax = np.zeros((n_layers, width))  # per-dimension max |x|
        self.rng = np.random.default_rng(seed)
        total = max(expected_tokens, 1) * width
        self.rate = min(1.0, scatter_points / total)
        self.cap = scatter_points
        self.points: list[tuple[np.ndarray, ...]] = []  # (seq, pos, dim, values (L, P)) per batch
        self.n_points = 0
        self.n_tokens = 0

    def add(self, acts: np.ndarray, seq: np.ndarray, pos: np.ndarray) -> None:
        """acts: (L, N, D) float; seq, pos: (N,) sequence number and position of each token."""
        L, N, D = acts.shape
        if N == 0:
            return
        if not np.isfinite(acts).all():
            bad = int(np.flatnonzero(~np.isfinite(acts).reshape(L, -1).all(axis=1))[0])
            raise UserError(f"The model produced NaN or infinite activations (layer index {bad}); try float32.")
        flat = acts.reshape(L, N * D)
        for i in range(L):
            self.moments[i].add(flat[i])
            np.maximum(self.absmax[i], np.abs(acts[i]).max(axis=0), out=self.absmax[i])
        self.hist.add(list(flat))
        for i in range(L):
            self.own[i].add([flat[i]])
        self.cross.add(flat)
        if self.n_points < self.cap:
            pick = np.flatnonzero(self.rng.random(N * D) < self.rate)[: self.cap - self.n_points]
            if pick.size:
                tok, dim = pick // D, pick % D
                self.points.append((seq[tok], pos[tok], dim, flat[:, pick].astype(np.float64)))
                self.n_points += pick.size
        self.n_tokens += N

    def result(self, *, model: str, site: str, layers: Sequence[int], n_sequences: int, exclude_first: bool,
               sample: str) -> DistResult:
        labels = tuple(choice(site, DIST_SITES).layer_label(l) for l in layers)
        k = min(N_OUTLIERS, self.D)
        rows, out_rows = [], []
        for i, (l, lab) in enumerate(zip(layers, labels)):
            m = self.moments[i]
            top = np.argsort(-self.absmax[i], kind="stable")[:k]
            rows.append({"layer": l, "label": lab, "n": self.n_tokens, "mean": m.mean if m.n else math.nan,
                         "std": m.std, "min": m.min, "max": m.max, "kurtosis": m.kurtosis,
                         "outlier_dims": tuple(int(d) for d in top),
                         "outlier_abs_max": tuple(float(self.absmax[i, d]) for d in top)})
            for r, d in enumerate(top):
                out_rows.append({"layer": l, "label": lab, "rank": r + 1, "dim": int(d),
                                 "abs_max": float(self.absmax[i, d])})
        edges, counts = self.hist.result()
        own = [h.result() for h in self.own]
        if self.points:
            seq = np.concatenate([p[0] for p in self.points])
            pos = np.concatenate([p[1] for p in self.points])
            dim = np.concatenate([p[2] for p in self.points])
            vals = np.concatenate([p[3] for p in self.points], axis=1)  # (L, P)
            P = seq.size
            scatter = pd.DataFrame({
                "layer": np.repeat(np.asarray(layers), P), "label": np.repeat(np.asarray(labels, dtype=object), P),
                "seq": np.tile(seq, self.L), "position": np.tile(pos, self.L), "dim": np.tile(dim, self.L),
                "value": vals.ravel(),
            })
        else:
            scatter = pd.DataFrame({c: [] for c in SCATTER_COLUMNS})
        return DistResult(
            model=model, site=site, layers=tuple(int(l) for l in layers), labels=labels, width=self.D,
            n_sequences=n_sequences, n_tokens=self.n_tokens, exclude_first=exclude_first, sample=sample,
            stats=pd.DataFrame(rows, columns=STAT_COLUMNS), outliers=pd.DataFrame(out_rows, columns=OUTLIER_COLUMNS),
            edges=edges, counts=counts, own_edges=tuple(e for e, _ in own), own_counts=tuple(c[0] for _, c in own),
            cov=self.cross.cov(), r2=self.cross.r2(), scatter=scatter[SCATTER_COLUMNS],
        )


# --- the run ------------------------------------------------------------------------------------------
def _batches(sample: Sample, batch_tokens: int) -> list[list[int]]:
    """Indices of sequences grouped by equal length (no padding), about `batch_tokens` tokens per batch."""
    by_len: dict[int, list[int]] = {}
    for i, s in enumerate(sample.sequences):
        by_len.setdefault(len(s), []).append(i)
    out = []
    for length, idx in by_len.items():
        per = max(1, batch_tokens // length)
        out += [idx[j:j + per] for j in range(0, len(idx), per)]
    return out


@scheduled("long")
def activation_distributions(lm: LoadedModel, sample: Sample, *, site: str = "resid", exclude_first: bool = True,
                             bins: int = 80, scatter_points: int = 1500, batch_tokens: int = 512,
                             progress: Progress | None = None, seed: int = 0) -> DistResult:
    """Run `sample` through `lm` and summarise the activations at every layer of `site`.

    exclude_first drops position 0 of every sequence (the BOS / [CLS] token, or the first word when the
    model adds none), which is an outlier because nothing precedes it. progress(fraction, message) is
    called after every batch; whatever it raises propagates (that is how a caller cancels). Batches are
    small (two 256-token windows by default) so a cancel is honoured within seconds on a CPU.
    """
    sites = layer_sites(lm.adapter, site)
    if not sample.sequences:
        raise UserError("There is nothing to measure; give a prompt or a corpus.")
    budgets().histogram_tokens.check(sample.n_tokens)
    skip = 1 if exclude_first else 0
    kept = sum(max(len(s) - skip, 0) for s in sample.sequences)
    if kept == 0:
        raise UserError("Nothing is left to measure once the first token is excluded; "
                        "use a longer prompt or include the first token.")
    width = choice(site, DIST_SITES).width(lm.adapter)
    acc = DistAccumulator(len(sites), width, bins=bins, expected_tokens=kept, scatter_points=scatter_points,
                          seed=seed)
    total, done = sample.n_tokens, 0
    for idx in _batches(sample, batch_tokens):
        ids = torch.tensor([sample.sequences[i] for i in idx], dtype=torch.long)  # (B, T)
        B, T = ids.shape
        res = lm.run(ids, capture=sites, need_logits=False)
        acts = np.stack([res.cache[s][:, skip:].float().reshape(B * (T - skip), -1).cpu().numpy()
                         for s in sites])  # (L, B*(T-skip), D)
        del res
        seq: np.ndarray = np.repeat(np.asarray(idx), T - skip)
        pos = np.tile(np.arange(skip, T), B)
        acc.add(acts, seq, pos)
        done += B * T
        if progress is not None:
            progress(done / total, f"{done:,} / {total:,} tokens")
    return acc.result(model=lm.spec.name, site=site, layers=[s.layer for s in sites if s.layer is not None],
                      n_sequences=len(sample.sequences), exclude_first=exclude_first, sample=sample.description)
