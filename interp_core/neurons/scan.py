"""Whole-layer scan: one streaming pass keeping, for every neuron of a site, its top-k activations and statistics.

Memory is flat in corpus length: per neuron only the running top-k values with their corpus token indices,
sums, extrema, an active count and a fixed-size reservoir sample of activations (for histograms). Contexts are
built at the end from the stored indices. Results are cached on disk keyed by model weights, tokenizer, corpus
hash, site, layer and every parameter, so a reopened scan is instant and a changed corpus never hits the cache.
"""
from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from interp_core.errors import UserError
from interp_core.neurons.seed import check_dim, validate, window_activations
from interp_core.settings import load_settings
from interp_core.data.tokens import TokenizedCorpus, context, context_text, token_strings

Progress = Callable[[float, str], None] | None
SCAN_VERSION = 1
RESERVOIR = 2048  # activations kept per neuron for the histogram (a uniform sample of corpus tokens)
STAT_COLUMNS = ["index", "mean", "std", "max", "min", "frac_active"]
TOP_COLUMNS = ["rank", "token", "token_id", "activation", "index", "window_start", "window_end", "context"]
_WEIGHT_FP: "weakref.WeakKeyDictionary[object, str]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class ScanResult:
    stats: pd.DataFrame  # STAT_COLUMNS, one row per neuron, index order
    top_values: np.ndarray  # (k, M) float32, each column descending
    top_index: np.ndarray  # (k, M) int64 corpus token index of each value (-1: fewer than k tokens scanned)
    sample: np.ndarray  # (R, M) float32 activations at a uniform random sample of R corpus tokens
    provenance: dict
    cached: bool = field(default=False, compare=False)  # True when loaded from the disk cache

    @property
    def n_neurons(self) -> int:
        return int(self.top_values.shape[1])

    def window_of(self, index: int) -> tuple[int, int]:
        """[start, end) of the window that scanned corpus position `index` (consecutive windows of seq_len)."""
        t, n = self.provenance["seq_len"], self.provenance["n_tokens_scanned"]
        start = (index // t) * t
        return start, min(start + t, n)

    def neuron_top(self, lm, tc: TokenizedCorpus, neuron: int, memo: dict | None = None) -> pd.DataFrame:
        """TOP_COLUMNS for one neuron, strongest first; contexts materialised from the stored token indices."""
        check_dim(neuron, self.n_neurons, self.provenance["site"])
        memo = {} if memo is None else memo
        rows = []
        for r, (v, idx) in enumerate(zip(self.top_values[:, neuron], self.top_index[:, neuron])):
            if idx < 0:
                continue
            s, e = self.window_of(int(idx))
            toks, pos = context(lm, tc, int(idx), s, e, memo=memo)
            tid = int(tc.ids[idx])
            rows.append({"rank": r + 1, "token": token_strings(lm, [tid], memo)[0], "token_id": tid, "activation": float(v),
                         "index": int(idx), "window_start": s, "window_end": e, "context": context_text(toks, pos)})
        return pd.DataFrame(rows, columns=TOP_COLUMNS)

    def to_dict(self, lm, tc: TokenizedCorpus, neurons=None) -> dict:
        """JSON-able result: provenance plus every (or the given) neuron's stats and top activations."""
        bos = self.provenance["bos_prepended"]
        out = []
        stats = self.stats.set_index("index")
        memo: dict = {}
        for i in (range(self.n_neurons) if neurons is None else neurons):
            st = stats.loc[i]
            top = self.neuron_top(lm, tc, i, memo)
            out.append({"index": int(i), "max": float(st["max"]), "mean": float(st["mean"]), "std": float(st["std"]),
                        "min": float(st["min"]), "frac_active": float(st["frac_active"]),
                        "top": [{**r, "bos_prepended": bos} for r in top.drop(columns="rank").to_dict("records")]})
        return {**self.provenance, "neurons": out}


def weight_fingerprint(lm) -> str:
    """Cheap identity of the weights: every parameter's name, shape and first/last values (memoized per model)."""
    try:
        return _WEIGHT_FP[lm.model]
    except KeyError:
        pass
    h = hashlib.sha256()
    with torch.no_grad():
        for name, p in lm.model.named_parameters():
            flat = p.detach().reshape(-1)
            h.update(name.encode() + str(tuple(p.shape)).encode() + str(p.dtype).encode())
            h.update(flat[:512].float().cpu().numpy().tobytes() + flat[-512:].float().cpu().numpy().tobytes())
    fp = h.hexdigest()[:24]
    _WEIGHT_FP[lm.model] = fp
    return fp


def _params(lm, tc, site, layer, top_k, seq_len, batch_size, max_tokens, threshold) -> dict:
    return {"version": SCAN_VERSION, "model": lm.spec.name, "revision": lm.spec.revision, "dtype": lm.spec.dtype,
            "weights": weight_fingerprint(lm), "tokenizer": tc.tokenizer_fp, "corpus_sha256": tc.corpus.sha256,
            "site": site, "layer": int(layer), "top_k": int(top_k), "seq_len": int(seq_len),
            "batch_size": int(batch_size), "max_tokens": None if max_tokens is None else int(max_tokens),
            "active_threshold": float(threshold), "reservoir": RESERVOIR}


def cache_path(params: dict):
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:32]
    return load_settings().cache_dir / "scans" / f"{params['site']}{params['layer']}_{key}.npz"


def _load(path, params) -> ScanResult | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            prov = json.loads(str(z["provenance"]))
            if {k: prov.get(k) for k in params} != params:
                return None
            stats = pd.DataFrame({c: z[f"stat_{c}"] for c in STAT_COLUMNS})
            return ScanResult(stats, z["top_values"], z["top_index"], z["sample"].astype(np.float32), prov, cached=True)
    except (OSError, ValueError, KeyError):
        return None


def _save(path, res: ScanResult) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part.npz")
        np.savez(tmp, provenance=np.array(json.dumps(res.provenance)), top_values=res.top_values,
                 top_index=res.top_index, sample=res.sample.astype(np.float16),
                 **{f"stat_{c}": res.stats[c].to_numpy() for c in STAT_COLUMNS})
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache only costs speed


def cached_scan(lm, tc: TokenizedCorpus, *, site: str, layer: int, top_k: int = 20, seq_len: int = 256,
                batch_size: int = 16, max_tokens: int | None = None, active_threshold: float = 0.0) -> ScanResult | None:
    """The stored result for exactly these inputs, or None (never runs the model)."""
    params = _params(lm, tc, site, layer, top_k, seq_len, batch_size, max_tokens, active_threshold)
    path = cache_path(params)
    return _load(path, params) if path.exists() else None


MAX_BATCH = 1024  # windows per forward pass
MAX_TOP_K = 1000  # kept per neuron: (k, M) buffers; more is never useful and could exhaust memory


def _window_batches(n_used: int, seq_len: int, batch_size: int):
    """Consecutive windows [s, s+seq_len) covering [0, n_used): full-length batches, then the shorter tail alone."""
    n_full = n_used // seq_len
    starts = np.arange(n_full, dtype=np.int64) * seq_len
    for i in range(0, n_full, batch_size):
        yield starts[i:i + batch_size], seq_len
    tail = n_used - n_full * seq_len
    if tail:
        yield np.array([n_full * seq_len], dtype=np.int64), tail


def scan_layer(lm, tc: TokenizedCorpus, *, site: str, layer: int, top_k: int = 20, seq_len: int = 256,
               batch_size: int = 16, max_tokens: int | None = None, active_threshold: float = 0.0,
               progress: Progress = None, use_cache: bool = True) -> ScanResult:
    """Scan every neuron of (site, layer) over the corpus; `progress(fraction, 'done/total tokens')` may raise to cancel."""
    hook_site, width = validate(lm, tc, site, layer, seq_len)
    if not 1 <= top_k <= MAX_TOP_K:
        raise UserError(f"top-k must be between 1 and {MAX_TOP_K} (got {top_k}).")
    if not 1 <= batch_size <= MAX_BATCH:
        raise UserError(f"The batch size must be between 1 and {MAX_BATCH} windows (got {batch_size}).")
    if max_tokens is not None and max_tokens < 1:
        raise UserError(f"The token limit must be at least 1 (got {max_tokens}).")
    params = _params(lm, tc, site, layer, top_k, seq_len, batch_size, max_tokens, active_threshold)
    path = cache_path(params)
    if use_cache and path.exists():
        hit = _load(path, params)
        if hit is not None:
            return hit
    n_used = tc.n_tokens if max_tokens is None else min(tc.n_tokens, max_tokens)
    if n_used < seq_len:
        raise UserError(f"A token limit of {max_tokens:,} is shorter than one window of {seq_len} tokens.")

    m, k = width, top_k
    dev = lm.device  # the running state lives where the activations are: no per-batch copy off a GPU
    top_v = torch.full((k, m), -torch.inf, device=dev)  # (k, M) running top-k values
    top_i = torch.full((k, m), -1, dtype=torch.long, device=dev)  # (k, M) their corpus token indices
    total = torch.zeros(m, dtype=torch.float64, device=dev)
    total_sq = torch.zeros(m, dtype=torch.float64, device=dev)
    vmax = torch.full((m,), -torch.inf, device=dev)
    vmin = torch.full((m,), torch.inf, device=dev)
    active = torch.zeros(m, dtype=torch.long, device=dev)
    sample = torch.zeros((min(RESERVOIR, n_used), m), device=dev)  # (R, M) reservoir of activation rows
    rng = np.random.default_rng(0)
    ones = torch.ones((1, batch_size * seq_len), device=dev)  # (1, B*T) row for BLAS column sums
    done = 0
    for starts, t in _window_batches(n_used, seq_len, batch_size):
        ids = tc.batch(starts, t, lm.device)  # (B, P+t+S)
        res = lm.run(ids, capture=[hook_site], need_logits=False)
        acts = tc.content(res.cache.pop(hook_site)).float().reshape(-1, m)  # (B*t, M), on the model's device
        gidx = torch.from_numpy((starts[:, None] + np.arange(t)[None, :]).reshape(-1)).to(dev)  # (B*t,) corpus indices
        # per-batch sums in float32 (cheap), accumulated in float64 across batches
        total += acts.sum(0).double()
        total_sq += torch.mm(ones[:, :acts.shape[0]], acts * acts)[0].double()
        torch.maximum(vmax, acts.amax(0), out=vmax)
        torch.minimum(vmin, acts.amin(0), out=vmin)
        active += (acts > active_threshold).sum(0)
        v, ix = torch.topk(acts, min(k, acts.shape[0]), dim=0)  # (k', M)
        merged_v = torch.cat([top_v, v])  # (k + k', M)
        merged_i = torch.cat([top_i, gidx[ix]])
        top_v, sel = torch.topk(merged_v, k, dim=0)
        top_i = torch.gather(merged_i, 0, sel)
        _reservoir_update(sample, acts, done, rng)
        done += acts.shape[0]
        del res, acts
        if progress is not None:
            progress(done / n_used, f"{done:,} / {n_used:,} tokens")
    top_v, top_i, total, total_sq, vmax, vmin, active, sample = (
        x.cpu() for x in (top_v, top_i, total, total_sq, vmax, vmin, active, sample))
    mean = total / done
    var = (total_sq / done - mean ** 2).clamp_min(0)
    stats = pd.DataFrame({"index": np.arange(m), "mean": mean.numpy(), "std": var.sqrt().numpy(),
                          "max": vmax.double().numpy(), "min": vmin.double().numpy(),
                          "frac_active": (active.double() / done).numpy()})
    prov = {**params, **tc.provenance(), "hook_site": str(hook_site), "n_tokens_scanned": int(done),
            "windowing": ("consecutive windows [s, s+seq_len) from token 0 (the last may be shorter); "
                          "window_end is exclusive"),
            "active": f"activation > {active_threshold}",
            "histogram_sample": f"uniform reservoir sample of {sample.shape[0]} corpus tokens (seed 0)"}
    result = ScanResult(stats, top_v.numpy().astype(np.float32), top_i.numpy().astype(np.int64),
                        sample.numpy(), prov)
    if use_cache:
        _save(path, result)
    return result


def _reservoir_update(sample: torch.Tensor, acts: torch.Tensor, seen: int, rng: np.random.Generator) -> None:
    """Algorithm R over rows, vectorised: row number c is kept with probability R/(c+1), replacing a random slot."""
    r = sample.shape[0]
    c = seen + np.arange(acts.shape[0])
    slot = np.where(c < r, c, rng.integers(0, np.maximum(c + 1, 1)))
    keep = np.flatnonzero(slot < r)
    if keep.size == 0:
        return
    # later rows overwrite earlier ones that drew the same slot (sequential semantics)
    slots_rev = slot[keep][::-1]
    _, first = np.unique(slots_rev, return_index=True)
    rows = keep[::-1][first]
    sample[torch.from_numpy(slot[rows]).to(sample.device)] = acts[torch.from_numpy(rows).to(acts.device)]


def context_activations(lm, tc: TokenizedCorpus, result: ScanResult, neuron: int, n: int = 10,
                        left: int = 12, right: int = 4) -> list[dict]:
    """Per-token activations around one neuron's n strongest tokens (their windows are re-run)."""
    top = result.neuron_top(lm, tc, neuron).head(n)
    return window_activations(lm, tc, top, site=result.provenance["site"], layer=result.provenance["layer"],
                              dim=neuron, left=left, right=right)
