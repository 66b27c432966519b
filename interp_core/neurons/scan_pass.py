"""The forward loop of a scan: windows in batches, every requested layer's state fed from the same passes.

Used unchanged by the single-process scan and by each Ray actor (which runs a contiguous run of the same
batches), so a sharded scan computes bit-identical activations to the single-process one.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from interp_core.data.tokens import TokenizedCorpus
from interp_core.engine.sites import Site
from interp_core.neurons.scan_state import ScanState
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

CPU_BATCH = 16  # windows per pass on the CPU (bench: larger batches give no speed-up there)
MAX_BATCH = 1024  # windows per forward pass
GPU_TOKEN_CAP = 1 << 16  # tokens per pass on a GPU: past this, throughput is flat and state buffers only grow
GPU_MEMORY_BUDGET = 0.6  # share of the free GPU memory one scan pass may use


def window_batches(n_used: int, seq_len: int, batch_size: int) -> list[tuple[np.ndarray, int]]:
    """Consecutive windows [s, s+seq_len) covering [0, n_used): full-length batches, then the shorter tail alone."""
    n_full = n_used // seq_len
    starts: np.ndarray = np.arange(n_full, dtype=np.int64) * seq_len
    out = [(starts[i:i + batch_size], seq_len) for i in range(0, n_full, batch_size)]
    tail = n_used - n_full * seq_len
    if tail:
        out.append((np.array([n_full * seq_len], dtype=np.int64), tail))
    return out


def run_batches(lm: LoadedModel, tc: TokenizedCorpus, sites: dict[int, Site], states: dict[int, ScanState],
                batches: Sequence[tuple[np.ndarray, int]], on_batch: Callable[[int], None] | None = None,
                compile: bool = False) -> None:
    """Run each (starts, t) batch once, feeding every layer's capture to its state as the pass produces it.

    sites/states: layer -> hook Site / ScanState. on_batch(tokens) after each batch may raise to cancel.
    compile: unhooked blocks run torch.compile'd (LoadedModel.run)."""
    by_site = {s: states[layer] for layer, s in sites.items()}
    with torch.inference_mode():
        for starts, t in batches:
            ids = tc.batch(starts, t, lm.device)  # (B, P+t+S)
            gidx = (starts[:, None] + np.arange(t)[None, :]).reshape(-1)  # (B*t,) corpus token indices

            def feed(site, x, gidx=gidx):
                acts = tc.content(x)  # (B, t, M) on the hook module's device
                by_site[site].update(acts.reshape(-1, acts.shape[-1]), gidx)

            lm.run(ids, capture=list(by_site), need_logits=False, on_capture=feed, compile=compile)
            if on_batch is not None:
                on_batch(int(len(starts) * t))


def auto_batch_size(lm: LoadedModel, tc: TokenizedCorpus, sites: dict[int, Site], seq_len: int, width: int, top_k: int,
                    n_used: int) -> int:
    """Windows per pass when the user sets none: CPU_BATCH on the CPU; on CUDA the largest power of two whose
    measured memory (a 2-window probe pass, states included) fits GPU_MEMORY_BUDGET of the free memory,
    capped at GPU_TOKEN_CAP tokens per pass and at the corpus."""
    dev = lm.device
    n_windows = max(1, n_used // seq_len)
    if dev.type != "cuda":
        return CPU_BATCH
    probe = min(2, n_windows)
    torch.cuda.synchronize(dev)
    base = torch.cuda.memory_allocated(dev)
    torch.cuda.reset_peak_memory_stats(dev)
    scratch = {layer: ScanState.empty(width, top_k, dev) for layer in sites}
    run_batches(lm, tc, sites, scratch, window_batches(probe * seq_len, seq_len, probe))
    torch.cuda.synchronize(dev)
    per_window = max(1, torch.cuda.max_memory_allocated(dev) - base) / probe
    del scratch
    free, _ = torch.cuda.mem_get_info(dev)
    fit = int(free * GPU_MEMORY_BUDGET / per_window)
    b = max(1, min(fit, GPU_TOKEN_CAP // seq_len, MAX_BATCH, n_windows))
    return 1 << (b.bit_length() - 1)
