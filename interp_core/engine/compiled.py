"""torch.compile for the blocks a hooked pass leaves alone, so long GPU scans get the compiled forward's speed.

A block's `forward` is swapped for a compiled one only while a pass runs, and only when no Looking Glass hook
sits *inside* the block (on one of its submodules): hooks on the block itself (residual captures, the early-exit
hook) run around the compiled forward, in eager Python, as before. A scan of MLP neurons at layer L thus
compiles blocks 0..L-1 and runs block L eagerly; a residual scan compiles every block it runs. Compiled
functions are kept per model (one per block and mode) and reused by every later pass.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch

MODES = ("off", "cuda", "on")  # LOOKING_GLASS_COMPILE: never (default) / on CUDA devices / everywhere


def compile_setting() -> str:
    mode = os.environ.get("LOOKING_GLASS_COMPILE", "off").strip().lower() or "off"
    return mode if mode in MODES else "off"


def wants_compile(device: torch.device, requested: bool | None) -> bool:
    """`requested` (True/False) wins; None follows LOOKING_GLASS_COMPILE for this device."""
    if requested is not None:
        return bool(requested)
    mode = compile_setting()
    return mode == "on" or (mode == "cuda" and device.type == "cuda")


def _hooked_inside(block: torch.nn.Module) -> bool:
    """True when one of our hooks sits on a submodule of `block` (the block's own hooks do not count)."""
    from interp_core.engine.hooks import our_hooks

    return any(our_hooks(m) for m in block.modules() if m is not block)


class CompiledBlocks:
    """Per-model cache of compiled block forwards; `active(blocks)` swaps them in for one pass."""

    def __init__(self, backend: str = "inductor", mode: str | None = None):
        self.backend, self.mode = backend, mode
        self._fns: dict[int, object] = {}

    def _fn(self, block: torch.nn.Module):
        key = id(block)
        if key not in self._fns:
            import torch._dynamo

            cfg = torch._dynamo.config  # one cache entry per block (guards differ per layer): room for all of them
            cfg.cache_size_limit = max(cfg.cache_size_limit, 256)
            if hasattr(cfg, "accumulated_cache_size_limit"):
                cfg.accumulated_cache_size_limit = max(cfg.accumulated_cache_size_limit, 1024)
            self._fns[key] = torch.compile(type(block).forward.__get__(block), backend=self.backend, mode=self.mode,
                                           dynamic=False)
        return self._fns[key]

    @contextmanager
    def active(self, blocks: Sequence[torch.nn.Module]) -> Iterator[list[int]]:
        """Swap compiled forwards into every block of `blocks` with no hook inside; yields their indices.
        The instance attribute is removed again in `finally` (the class's forward shows through)."""
        swapped: list[int] = []
        try:
            for i, block in enumerate(blocks):
                if not _hooked_inside(block):
                    block.forward = self._fn(block)
                    swapped.append(i)
            yield swapped
        finally:
            for i in swapped:
                blocks[i].__dict__.pop("forward", None)
