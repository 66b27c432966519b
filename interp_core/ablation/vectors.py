"""Saved steering directions: one vector per file, `.safetensors` (model, site, kind and label in its metadata)
or `.npy` (the bare vector; metadata, when written by us, in a `.json` beside it). Bytes in, bytes out, so the
playground can offer a download and accept an upload without touching the disk."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import torch

from interp_core.ablation.directions import Direction, register_source
from interp_core.errors import UserError
from interp_core.paths import check_local_path

FORMATS = ("safetensors", "npy")
_KEY = "direction"


def vector_bytes(d: Direction, fmt: str = "safetensors") -> bytes:
    """The file content holding `d` in `fmt`."""
    v = d.vector.detach().float().cpu().contiguous()
    if fmt == "safetensors":
        from safetensors.torch import save

        meta = {"kind": d.kind, "label": d.label, "model": d.model or "", "site": d.site or "", "width": str(v.shape[0])}
        return save({_KEY: v}, metadata=meta)
    if fmt == "npy":
        buf = io.BytesIO()
        np.save(buf, v.numpy(), allow_pickle=False)
        return buf.getvalue()
    raise UserError(f"Unknown vector format '{fmt}'; choose one of {', '.join(FORMATS)}.")


def vector_from_bytes(data: bytes, name: str = "vector", meta: dict | None = None) -> Direction:
    """A Direction from a file's bytes (.safetensors carries its own metadata; .npy takes `meta` if given)."""
    if name.endswith(".safetensors") or data[8:9] == b"{":
        from safetensors import SafetensorError
        from safetensors.torch import load

        try:
            tensors = load(data)
            header_len = int.from_bytes(data[:8], "little")
            meta = dict(json.loads(data[8:8 + header_len]).get("__metadata__") or {})
        except (SafetensorError, ValueError, UnicodeDecodeError) as e:
            raise UserError(f"'{name}' is not a readable .safetensors file ({e}).") from None
        if len(tensors) != 1:
            raise UserError(f"'{name}' holds {len(tensors)} tensors; a direction file holds exactly one.")
        v = next(iter(tensors.values()))
    else:
        try:
            arr = np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise UserError(f"'{name}' is not a readable .npy file ({e}).") from None
        v = torch.from_numpy(np.asarray(arr, dtype=np.float32).copy())
    v = v.float().squeeze()
    if v.ndim != 1:
        raise UserError(f"'{name}' holds a tensor of shape {tuple(v.shape)}; a direction is one vector.")
    if not bool(torch.isfinite(v).all()):
        raise UserError(f"'{name}' holds values that are not finite.")
    meta = meta or {}
    return Direction(v, "vector", meta.get("label") or f"saved vector {name}", meta.get("model") or None,
                     meta.get("site") or None)


def save_vector(d: Direction, path: str | Path) -> Path:
    """Write `d` to `path` (.safetensors or .npy, by its suffix; .npy gets a .json with the metadata beside it)."""
    p = Path(path)
    fmt = p.suffix.lstrip(".")
    p.write_bytes(vector_bytes(d, fmt))
    if fmt == "npy":
        p.with_suffix(".json").write_text(json.dumps({"kind": d.kind, "label": d.label, "model": d.model,
                                                      "site": d.site}))
    return p


def load_vector(raw: str) -> Direction:
    """The Direction saved at a user-named path (.npy or .safetensors)."""
    if not raw:
        raise UserError("Name a saved vector file (.npy or .safetensors).")
    p = check_local_path(raw, kind="file")
    if p.suffix not in (".npy", ".safetensors"):
        raise UserError(f"'{p.name}' is not a .npy or .safetensors file.")
    meta = None
    side = p.with_suffix(".json")
    if p.suffix == ".npy" and side.exists():
        try:
            meta = json.loads(side.read_text())
        except (OSError, ValueError):
            meta = None
    return vector_from_bytes(p.read_bytes(), p.name, meta)


register_source("vector", "a saved direction (.npy or .safetensors)", lambda lm, p, site: load_vector(p.get("path", "")))
