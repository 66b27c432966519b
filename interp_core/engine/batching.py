"""How many copies of one prompt go through a forward pass together, for the methods that run many variants of
the same prompt (patching grids, ablation sweeps): ~2k tokens a pass on a CPU (bigger batches give no speed-up
there), ~32k on a GPU (small batches are launch-bound: the scan's throughput grows 5-9x from 8 to 128 windows)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

import torch

TOKENS_PER_PASS = 2048
TOKENS_PER_PASS_CUDA = 1 << 15
MAX_ROWS = 256  # rows per pass at most (bounds the per-row bookkeeping)


def rows_per_pass(prompt_len: int, device: torch.device | None = None) -> int:
    per = TOKENS_PER_PASS_CUDA if device is not None and device.type == "cuda" else TOKENS_PER_PASS
    return max(1, min(MAX_ROWS, per // max(1, prompt_len)))


def row_interventions(per_row: Sequence[Mapping]) -> dict:
    """Site -> one intervention for a batch whose row r gets `per_row[r]`'s intervention at that site (rows
    without one pass unchanged). Each row's function sees its own (1, T, ...) slice, as in a run of its own."""
    by_site: dict = defaultdict(list)
    for r, hooks in enumerate(per_row):
        for site, fn in hooks.items():
            by_site[site].append((r, fn))

    def rows_only(items: list[tuple[int, Callable[[torch.Tensor], torch.Tensor]]]):
        def apply(x: torch.Tensor) -> torch.Tensor:  # (B, T, ...)
            out = x.clone()
            for r, fn in items:
                out[r:r + 1] = fn(x[r:r + 1])
            return out
        return apply
    return {site: rows_only(items) for site, items in by_site.items()}
