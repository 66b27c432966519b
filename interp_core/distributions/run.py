"""Activation distributions per layer: how the hidden states change shape through the network.

Tokens are streamed through the model in batches and only running summaries are kept, so memory stays
bounded however many tokens are measured (5,000 tokens x 19 layers x 640 dims would be 240 MB if kept):
exact central moments (merged per batch), min/max, per-dimension max |x|, histograms on one bin grid
shared by all layers, the cross-layer Gram matrix for covariance and R², and a fixed random subsample of
points for the scatter plots.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from interp_core.errors import UserError
from interp_core.engine.sites import Site

Progress = Callable[[float, str], None]

# what the user picks -> (canonical site kind, description)
DIST_SITES: dict[str, tuple[str, str]] = {
    "resid": ("resid", "residual stream (hidden state): embeddings first, then after every block"),
    "attn_out": ("attn_out", "attention output of every block, as added to the residual stream"),
    "mlp_out": ("mlp_out", "MLP output of every block, as added to the residual stream"),
    "mlp": ("mlp_neurons", "MLP neurons of every block (the input of the down projection)"),
}
STAT_COLUMNS = ["layer", "label", "n", "mean", "std", "min", "max", "kurtosis", "outlier_dims", "outlier_abs_max"]
OUTLIER_COLUMNS = ["layer", "label", "rank", "dim", "abs_max"]
SCATTER_COLUMNS = ["layer", "label", "seq", "position", "dim", "value"]
N_OUTLIERS = 5


# --- which sites ----------------------------------------------------------------------------------
def layer_sites(adapter, site: str) -> list[Site]:
    """The canonical sites measured for a user site name: resid has L+1 entries, the others L."""
    if site not in DIST_SITES:
        raise UserError(f"Unknown site '{site}'; choose one of {', '.join(DIST_SITES)}.")
    kind = DIST_SITES[site][0]
    n = adapter.n_layers + 1 if kind == "resid" else adapter.n_layers
    return [Site(kind, l) for l in range(n)]


def layer_label(site: str, layer: int) -> str:
    """Short axis label: 'emb' for the residual stream before block 0, else the layer number."""
    return "emb" if site == "resid" and layer == 0 else str(layer)


# --- what to run ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """Token sequences to run, each with the model's own special tokens (BOS / [CLS] … [SEP])."""

    sequences: tuple[tuple[int, ...], ...]
    description: str

    @property
    def n_tokens(self) -> int:
        return sum(len(s) for s in self.sequences)


def special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a text (e.g. [BOS] / [], or [CLS] / [SEP])."""
    probe = "hello world"
    full = list(tokenizer(probe, add_special_tokens=True)["input_ids"])
    core = list(tokenizer(probe, add_special_tokens=False)["input_ids"])
    for i in range(len(full) - len(core) + 1):
        if full[i:i + len(core)] == core:
            return full[:i], full[i + len(core):]
    return [], []


def prompt_sample(lm, text: str) -> Sample:
    """One sequence: the prompt as the model sees it (UserError when empty or longer than the context)."""
    enc = lm.encode(text)
    return Sample((tuple(int(i) for i in enc.input_ids[0].tolist()),), f"prompt ({len(enc.tokens)} tokens)")


def corpus_sample(lm, text: str, max_tokens: int, *, window: int = 256, name: str = "corpus") -> Sample:
    """Windows of up to `window` tokens (special tokens included) spread evenly over the text, `max_tokens` in all.

    Short texts are cut into consecutive windows from the start; long ones are sampled at evenly spaced
    character offsets (snapped to whitespace), so only what is used gets tokenized.
    """
    if not isinstance(text, str) or not text.strip():
        raise UserError("The corpus is empty; paste or choose some text.")
    max_tokens = int(max_tokens)
    tok = lm.tokenizer
    prefix, suffix = special_tokens(tok)
    window = min(int(window), int(lm.adapter.n_ctx))
    content = window - len(prefix) - len(suffix)
    if content < 1:
        raise UserError(f"The window of {window} tokens leaves no room for text; use a larger window.")
    if max_tokens < len(prefix) + len(suffix) + 2:
        raise UserError(f"The token budget must be at least {len(prefix) + len(suffix) + 2} tokens.")
    n_win = math.ceil(max_tokens / window)
    span = content * 8 + 64  # characters per window: generous, English runs about 4 characters a token
    chunks: list[list[int]] = []
    if len(text) <= 2 * n_win * span:
        ids = list(tok(text, add_special_tokens=False)["input_ids"])
        chunks = [ids[i:i + content] for i in range(0, len(ids), content)]
    else:
        for start in np.linspace(0, len(text) - span, n_win).astype(int):
            start = int(start)
            if start > 0:  # begin at a word boundary
                ws = min((j for j in (text.find(" ", start), text.find("\n", start)) if j >= 0), default=start)
                start = ws + 1 if ws - start < 64 else start
            ids = list(tok(text[start:start + span], add_special_tokens=False)["input_ids"])[:content]
            if ids:
                chunks.append(ids)
    sequences: list[tuple[int, ...]] = []
    left = max_tokens
    for chunk in chunks:
        room = left - len(prefix) - len(suffix)
        if room < 1:
            break
        seq = (*prefix, *chunk[:room], *suffix)
        sequences.append(tuple(int(i) for i in seq))
        left -= len(seq)
    if not sequences:
        raise UserError("The corpus produced no tokens; choose another text.")
    total = sum(len(s) for s in sequences)
    windows = "1 window" if len(sequences) == 1 else f"{len(sequences)} windows"
    return Sample(tuple(sequences), f"{name}: {windows}, {total:,} tokens")


# --- streaming summaries (pure numpy; unit-tested without a model) -------------------------------------
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
        self.min, self.max = min(self.min, float(v.min())), max(self.max, float(v.max()))
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
        self.counts = np.zeros((n_layers, 0), dtype=np.int64)  # (L, b - a)

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
                idx = np.arange(ca, ca + counts.shape[1]) // 2
                na, nb = int(idx[0]), int(idx[-1]) + 1
                merged = np.zeros((counts.shape[0], nb - na), dtype=np.int64)
                for i in range(counts.shape[0]):
                    merged[i] = np.bincount(idx - na, weights=counts[i], minlength=nb - na)
                counts, ca = merged, na
        grown = np.zeros((counts.shape[0], kb - ka), dtype=np.int64)
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
        labels = tuple(layer_label(site, l) for l in layers)
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


def activation_distributions(lm, sample: Sample, *, site: str = "resid", exclude_first: bool = True,
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
    skip = 1 if exclude_first else 0
    kept = sum(max(len(s) - skip, 0) for s in sample.sequences)
    if kept == 0:
        raise UserError("Nothing is left to measure once the first token is excluded; "
                        "use a longer prompt or include the first token.")
    width = lm.adapter.d_mlp if site == "mlp" else lm.adapter.d_model
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
        seq = np.repeat(np.asarray(idx), T - skip)
        pos = np.tile(np.arange(skip, T), B)
        acc.add(acts, seq, pos)
        done += B * T
        if progress is not None:
            progress(done / total, f"{done:,} / {total:,} tokens")
    return acc.result(model=lm.spec.name, site=site, layers=[s.layer for s in sites],
                      n_sequences=len(sample.sequences), exclude_first=exclude_first, sample=sample.description)
