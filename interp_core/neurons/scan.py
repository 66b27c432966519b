"""Whole-layer scans: one streaming pass keeping, for every neuron of a site at every requested layer, its top-k
activations and statistics (the running state is in scan_state.py, the forward loop in scan_pass.py).

Memory is flat in corpus length: per neuron only the running top-k values with their corpus token indices,
sums, extrema, an active count and a fixed-size hashed sample of activations (for histograms). Contexts are
built at the end from the stored indices. Results are cached on disk keyed by model weights, tokenizer, corpus
hash, site, layer and every parameter, so a reopened scan is instant and a changed corpus never hits the cache.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from interp_core.engine.model import LoadedModel
from interp_core.budgets import budgets
from interp_core.engine.scheduler import scheduled
from interp_core.errors import UserError
from interp_core.results import Progress, atomic_write
from interp_core.engine.sites import NEURON_SITES, choice, sae_id
from interp_core.features.store import attach
from interp_core.engine.compiled import wants_compile
from interp_core.engine.integrity import weight_fingerprint
from interp_core.neurons.scan_pass import CPU_BATCH, MAX_BATCH, auto_batch_size, run_batches, window_batches
from interp_core.neurons.scan_state import RESERVOIR, SAMPLE_SEED, ScanState
from interp_core.neurons.seed import check_dim, validate
from interp_core.paths import shown
from interp_core.settings import load_settings
from interp_core.data.tokens import TokenizedCorpus, context, context_text, token_strings

SCAN_VERSION = 1
MAX_TOP_K = 1000  # kept per neuron: (k, M) buffers; more is never useful and could exhaust memory
STAT_COLUMNS = ["index", "mean", "std", "max", "min", "frac_active"]
TOP_COLUMNS = ["rank", "token", "token_id", "activation", "index", "window_start", "window_end", "context"]


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

    def neuron_top(self, lm: LoadedModel, tc: TokenizedCorpus, neuron: int, memo: dict | None = None) -> pd.DataFrame:
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

    def frame(self) -> pd.DataFrame:
        """STAT_COLUMNS, one row per neuron."""
        return self.stats

    def to_dict(self, lm: LoadedModel | None = None, tc: TokenizedCorpus | None = None, neurons=None) -> dict:
        """JSON-able result: provenance plus every (or the given) neuron's stats and top activations.

        With the model and the tokenized corpus the top activations carry their tokens and contexts; without
        them, only values and corpus indices."""
        if lm is None or tc is None:
            return {**self.provenance, "stats": self.stats.to_dict("list"),
                    "top_values": self.top_values.tolist(), "top_index": self.top_index.tolist()}
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


def _params(lm: LoadedModel, tc, site, layer, top_k, seq_len, batch_size, max_tokens, threshold) -> dict:
    return {"version": SCAN_VERSION, "model": lm.spec.name, "revision": lm.spec.revision, "dtype": lm.spec.dtype,
            "weights": weight_fingerprint(lm), "tokenizer": tc.tokenizer_fp, "corpus_sha256": tc.corpus.sha256,
            "site": site, "layer": int(layer), "top_k": int(top_k), "seq_len": int(seq_len),
            "batch_size": int(batch_size), "max_tokens": None if max_tokens is None else int(max_tokens),
            "active_threshold": float(threshold), "reservoir": RESERVOIR,
            **({"sae": attach(lm, sae_id(site) or "")[1].fingerprint()} if sae_id(site) else {})}


def cache_path(params: dict):
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:32]
    name = "sae" if sae_id(params["site"]) else params["site"]  # an SAE id may hold '/' or ':'
    return load_settings().cache_dir / "scans" / f"{name}{params['layer']}_{key}.npz"


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
    atomic_write(path, lambda tmp: np.savez(
        tmp, provenance=np.array(json.dumps(res.provenance)), top_values=res.top_values, top_index=res.top_index,
        sample=res.sample.astype(np.float16), **{f"stat_{c}": res.stats[c].to_numpy() for c in STAT_COLUMNS}),
        suffix=".part.npz")


def cached_scan(lm: LoadedModel, tc: TokenizedCorpus, *, site: str, layer: int, top_k: int = 20, seq_len: int = 256,
                batch_size: int = 16, max_tokens: int | None = None, active_threshold: float = 0.0) -> ScanResult | None:
    """The stored result for exactly these inputs, or None (never runs the model)."""
    params = _params(lm, tc, site, layer, top_k, seq_len, batch_size, max_tokens, active_threshold)
    path = cache_path(params)
    return _load(path, params) if path.exists() else None


def cached_layers(lm: LoadedModel, tc: TokenizedCorpus, *, site: str, layers="all", top_k: int = 20, seq_len: int = 256,
                  batch_size: int = 16, max_tokens: int | None = None, active_threshold: float = 0.0) -> list[int]:
    """Which of the site's layers have a stored scan for exactly these parameters (a file check, no loading)."""
    return [layer for layer in resolve_layers(lm, site, layers) if cache_path(
        _params(lm, tc, site, layer, top_k, seq_len, batch_size, max_tokens, active_threshold)).exists()]


def resolve_layers(lm: LoadedModel, site: str, layers) -> list[int]:
    """'all', an int, 'a,b,c' or a list -> sorted distinct valid layers of the site (clear errors otherwise)."""
    if sae_id(site):  # an SAE reads one layer: 'all' means that one
        own = attach(lm, sae_id(site) or "")[0].layer
        if layers == "all" or layers == [own] or layers == own or str(layers).strip() == str(own):
            return [int(own)]  # type: ignore[arg-type]
        raise UserError(f"The SAE '{sae_id(site)}' reads layer {own} only (got layers {layers}).")
    c = choice(site, NEURON_SITES)
    n = c.n_layers(lm.adapter.n_layers)
    if isinstance(layers, str):
        text = layers.strip().lower()
        if text == "all":
            return list(range(n))
        try:
            layers = [int(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise UserError(f"Layers must be 'all' or a comma-separated list of numbers (got '{shown(text, 40)}')."
                            ) from None
    elif isinstance(layers, int):
        layers = [layers]
    layers = sorted(set(int(x) for x in layers))
    if not layers:
        raise UserError("No layers given; use 'all' or a list such as 0,3,5.")
    for layer in layers:
        c.check_layer(layer, lm.adapter.n_layers)
    return layers


def _check(lm: LoadedModel, tc, site, layers, top_k, seq_len, batch_size, max_tokens):
    hook_sites = {}
    for layer in layers:
        hook_sites[layer], width = validate(lm, tc, site, layer, seq_len)
    if not 1 <= top_k <= MAX_TOP_K:
        raise UserError(f"top-k must be between 1 and {MAX_TOP_K} (got {top_k}).")
    if batch_size is not None and not 1 <= batch_size <= MAX_BATCH:
        raise UserError(f"The batch size must be between 1 and {MAX_BATCH} windows (got {batch_size}).")
    if max_tokens is not None and max_tokens < 1:
        raise UserError(f"The token limit must be at least 1 (got {max_tokens}).")
    n_used = tc.n_tokens if max_tokens is None else min(tc.n_tokens, max_tokens)
    if n_used < seq_len:
        raise UserError(f"A token limit of {max_tokens:,} is shorter than one window of {seq_len} tokens.")
    return hook_sites, width, n_used


@scheduled("long")
def scan_layers(lm: LoadedModel, tc: TokenizedCorpus, *, site: str, layers="all", top_k: int = 20, seq_len: int = 256,
                batch_size: int | None = None, max_tokens: int | None = None, active_threshold: float = 0.0,
                progress: Progress | None = None, use_cache: bool = True, ray: str | None = None,
                workers: int | None = None, compile: bool | None = None) -> dict[int, ScanResult]:
    """Scan every neuron of `site` at each requested layer in ONE pass over the corpus -> {layer: ScanResult}.

    layers: 'all', a list or 'a,b,c'. Layers already in the disk cache are read, the rest share the forward
    passes. batch_size None: chosen from the device (CPU: 16; CUDA: the largest that fits in memory).
    ray: None (this process), 'auto' or a cluster address: shard the windows over Ray actors (`workers` of them).
    compile: torch.compile the unhooked blocks (None: LOOKING_GLASS_COMPILE, default off).
    `progress(fraction, 'done/total tokens')` may raise to cancel; nothing is cached then."""
    layers = resolve_layers(lm, site, layers)
    hook_sites, width, n_used = _check(lm, tc, site, layers, top_k, seq_len, batch_size, max_tokens)
    budgets().scan_tokens.check(n_used)
    if batch_size is None:
        batch_size = CPU_BATCH if ray is not None else auto_batch_size(
            lm, tc, hook_sites, seq_len, width, top_k, n_used)
    params = {layer: _params(lm, tc, site, layer, top_k, seq_len, batch_size, max_tokens, active_threshold)
              for layer in layers}
    out: dict[int, ScanResult] = {}
    for layer in layers:
        path = cache_path(params[layer])
        hit = _load(path, params[layer]) if use_cache and path.exists() else None
        if hit is not None:
            out[layer] = hit
    todo = {layer: hook_sites[layer] for layer in layers if layer not in out}
    if not todo:
        return out
    batches = window_batches(n_used, seq_len, batch_size)
    if ray is not None:
        from interp_core.neurons.distributed import ray_scan

        states = ray_scan(lm, tc, todo, width=width, top_k=top_k, threshold=active_threshold, batches=batches,
                          n_used=n_used, address=ray, workers=workers, progress=progress)
    else:
        states = {layer: ScanState.empty(width, top_k, lm.device, active_threshold) for layer in todo}
        done = [0]

        def on_batch(n):
            done[0] += n
            if progress is not None:
                progress(done[0] / n_used, f"{done[0]:,} / {n_used:,} tokens")

        run_batches(lm, tc, todo, states, batches, on_batch, compile=wants_compile(lm.device, compile))
    for layer, state in states.items():
        out[layer] = _result(tc, params[layer], hook_sites[layer], state, active_threshold)
        if use_cache:
            _save(cache_path(params[layer]), out[layer])
    return {layer: out[layer] for layer in layers}


def _result(tc, params, hook_site, state: ScanState, threshold: float) -> ScanResult:
    f = state.finish()
    done = f["n"]
    stats = pd.DataFrame({"index": np.arange(f["top_values"].shape[1]), "mean": f["mean"], "std": f["std"],
                          "max": f["max"], "min": f["min"], "frac_active": f["frac_active"]})
    prov = {**params, **tc.provenance(), "hook_site": str(hook_site), "n_tokens_scanned": int(done),
            "windowing": ("consecutive windows [s, s+seq_len) from token 0 (the last may be shorter); "
                          "window_end is exclusive"),
            "active": f"activation > {threshold}",
            "histogram_sample": (f"uniform sample of {f['sample'].shape[0]} corpus tokens: those with the smallest "
                                 f"splitmix64 hash of their index (seed {SAMPLE_SEED}); the same for any sharding")}
    return ScanResult(stats, f["top_values"], f["top_index"], f["sample"].astype(np.float32), prov)


def scan_layer(lm: LoadedModel, tc: TokenizedCorpus, *, site: str, layer: int, top_k: int = 20, seq_len: int = 256,
               batch_size: int | None = 16, max_tokens: int | None = None, active_threshold: float = 0.0,
               progress: Progress | None = None, use_cache: bool = True, ray: str | None = None,
               workers: int | None = None) -> ScanResult:
    """Scan every neuron of (site, layer) over the corpus; `progress(fraction, 'done/total tokens')` may raise to cancel."""
    if not isinstance(layer, (int, np.integer)):
        raise UserError(f"The layer must be a number (got {layer!r}).")
    return scan_layers(lm, tc, site=site, layers=[int(layer)], top_k=top_k, seq_len=seq_len, batch_size=batch_size,
                       max_tokens=max_tokens, active_threshold=active_threshold, progress=progress,
                       use_cache=use_cache, ray=ray, workers=workers)[int(layer)]
