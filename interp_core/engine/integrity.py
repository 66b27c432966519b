"""Model identity and a weights checksum: prove an experiment left the weights as they were, and key
caches (reference statistics, patch sources) to the exact model they came from."""
from __future__ import annotations

import hashlib

import torch
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel


def model_identity(lm: LoadedModel) -> str:
    """A string naming the model and its shape; two models with the same identity give the same activations."""
    s, a = lm.spec, lm.adapter
    return (f"{s.name}@{s.revision or 'default'}|{s.dtype}|{lm.source}|{a.family}"
            f"|L{a.n_layers}|D{a.d_model}|M{a.d_mlp}|H{a.n_heads}x{a.d_head}")


def weights_checksum(lm: LoadedModel) -> str:
    """SHA-256 over every parameter and buffer (names, shapes, dtypes and raw bytes), in a fixed order."""
    h = hashlib.sha256()
    with torch.no_grad():
        items = sorted([*lm.model.named_parameters(remove_duplicate=False), *lm.model.named_buffers()],
                       key=lambda kv: kv[0])
        for name, t in items:
            h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
            h.update(t.detach().contiguous().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
