"""How many copies of one prompt go through a forward pass together, for the methods that run many variants of
the same prompt (patching grids, ablation sweeps): ~2k tokens a pass on a CPU (bigger batches give no speed-up
there), ~32k on a GPU (small batches are launch-bound: the scan's throughput grows 5-9x from 8 to 128 windows)."""
from __future__ import annotations

import torch

TOKENS_PER_PASS = 2048
TOKENS_PER_PASS_CUDA = 1 << 15
MAX_ROWS = 256  # rows per pass at most (bounds the per-row bookkeeping)


def rows_per_pass(prompt_len: int, device: torch.device | None = None) -> int:
    per = TOKENS_PER_PASS_CUDA if device is not None and device.type == "cuda" else TOKENS_PER_PASS
    return max(1, min(MAX_ROWS, per // max(1, prompt_len)))
