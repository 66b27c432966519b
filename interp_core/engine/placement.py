"""Where a model's parts live when it is split over devices (Accelerate `device_map`), and where to compute.

A split model keeps each block on its own device (or offloaded to CPU RAM / disk, with its weights on the
`meta` device until Accelerate's hook loads them for the forward). Tensors that cross blocks go to the
device that executes the module that receives them.
"""
from __future__ import annotations

import json

import torch
from torch import nn

from interp_core.errors import UserError

MAP_STRATEGIES = ("auto", "balanced", "balanced_low_0", "sequential")


def module_device(module: nn.Module | None, default: torch.device | str = "cpu") -> torch.device:
    """The device a module computes on: its Accelerate hook's execution device, else its first real parameter's."""
    if module is None:
        return torch.device(default)
    hook = getattr(module, "_hf_hook", None)
    dev = getattr(hook, "execution_device", None)
    if dev is not None:
        return torch.device(f"cuda:{dev}" if isinstance(dev, int) else dev)
    for p in module.parameters():
        if p.device.type != "meta":
            return p.device
    return torch.device(default)


def parse_device_map(value) -> str | None:
    """A user's device map ('auto', a strategy, a JSON object or a dict {module: device}) as a canonical string
    (hashable, for the ModelSpec cache key); None when none is given."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in MAP_STRATEGIES:
            return text.lower()
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise UserError(f"The device map must be one of {', '.join(MAP_STRATEGIES)} or a JSON object "
                            "like {\"model.layers.0\": \"cuda:0\", \"model.layers.1\": \"disk\"}.") from None
    if not isinstance(value, dict) or not value:
        raise UserError("An explicit device map is a non-empty JSON object from module names to devices.")
    out = {}
    for name, dev in value.items():
        dev = dev if isinstance(dev, int) else str(dev).strip().lower()
        ok = isinstance(dev, int) or dev in ("cpu", "disk", "cuda", "mps") or dev.startswith("cuda:")
        if not isinstance(name, str) or not ok:
            raise UserError(f"Device map entry {name!r}: {dev!r} is not a device (use cpu, disk, cuda:N or N).")
        if (isinstance(dev, int) or dev.startswith("cuda")) and not torch.cuda.is_available():
            raise UserError(f"Device map entry {name!r} asks for a GPU but no GPU is visible to PyTorch.")
        out[name] = dev
    return json.dumps(out, sort_keys=True)


def device_map_value(canonical: str):
    """The ModelSpec's device map as from_pretrained wants it (a strategy string or a dict)."""
    return canonical if canonical in MAP_STRATEGIES else json.loads(canonical)
