"""Model identity and a weights checksum: prove an experiment left the weights as they were, and key
caches (reference statistics, patch sources) to the exact model they came from."""
from __future__ import annotations

import hashlib
import weakref

import torch
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

_WEIGHT_FP: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()


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


def weight_fingerprint(lm: LoadedModel) -> str:
    """Cheap identity of the weights: every parameter's name, shape and first/last values (memoized per model;
    parameters offloaded to disk by a device map contribute name, shape and dtype only)."""
    try:
        return _WEIGHT_FP[lm.model]
    except KeyError:
        pass
    h = hashlib.sha256()
    with torch.no_grad():
        for name, p in lm.model.named_parameters():
            flat = p.detach().reshape(-1)
            h.update(name.encode() + str(tuple(p.shape)).encode() + str(p.dtype).encode())
            if p.device.type == "meta":  # offloaded by a device map: its values are not in memory
                continue
            h.update(flat[:512].float().cpu().numpy().tobytes() + flat[-512:].float().cpu().numpy().tobytes())
    fp = h.hexdigest()[:24]
    _WEIGHT_FP[lm.model] = fp
    return fp
