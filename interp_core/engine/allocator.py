"""Keep CPU forward passes off the page-fault path.

glibc hands every allocation above 128 KB to mmap and returns it to the kernel on free, so each of a
forward pass's 16 MB intermediates (8 x 257 tokens x 2048 neurons x fp32) is freshly mapped and
zero-filled by the kernel. Raising the mmap threshold to its 32 MB maximum keeps them in the heap,
where they are reused; measured on Gemma 3 270M, a layer-9 scan runs about 10 % faster (bench/RESULTS.md).
Blocks above 32 MB (logit chunks of big batches, the weights) still use mmap and go back to the OS.

`settle_heap` does the same for Python's cyclic collector: the long-lived objects (modules, models) are
moved out of its reach, so a full collection (Streamlit runs one after every script run) stays cheap.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
import threading

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's upper limit for M_MMAP_THRESHOLD on 64-bit
TRIM_THRESHOLD = 256 * 1024 * 1024  # free heap kept for reuse before it is returned to the OS

_lock = threading.Lock()
_done: bool | None = None


def tune_allocator() -> bool:
    """Apply the thresholds once per process (Linux/glibc only; elsewhere, or with
    LOOKING_GLASS_MALLOC_TUNING=0, nothing changes). Returns whether they are in effect."""
    global _done
    with _lock:
        if _done is not None:
            return _done
        _done = False
        if not sys.platform.startswith("linux") or os.environ.get("LOOKING_GLASS_MALLOC_TUNING", "1") == "0":
            return False
        if "MALLOC_MMAP_THRESHOLD_" in os.environ:  # the user tuned glibc themselves
            return False
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
        except (OSError, AttributeError):  # musl and others: no mallopt
            return False
        mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        mallopt.restype = ctypes.c_int
        _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
        return _done


def settle_heap() -> int:
    """Collect garbage once, then freeze every object alive now (gc.freeze) out of the cyclic collector's reach.

    After torch, transformers and a model are loaded a full collection walks ~0.5M objects (0.4 s on a 2-core
    CPU), and Streamlit collects after every script run, i.e. on every click. Frozen objects are still freed
    by reference counting; cycles among them wait for the next call, which unfreezes everything first (an
    evicted model is collected then). LOOKING_GLASS_GC_FREEZE=0 turns this off. Returns how many are frozen."""
    if os.environ.get("LOOKING_GLASS_GC_FREEZE", "1") == "0":
        return gc.get_freeze_count()
    with _lock:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        return gc.get_freeze_count()
