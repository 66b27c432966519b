"""Results kept per input: a stable fingerprint of a job's key, a rough byte size of a result, and the bounded
LRU store (one per browser session, one process-wide for the warm-up's and shared results). No Streamlit here."""
from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

# per browser session; least recently used results go first (LOOKING_GLASS_SESSION_RESULTS_MB, default 256)
MAX_SESSION_BYTES = int(float(os.environ.get("LOOKING_GLASS_SESSION_RESULTS_MB", "") or 256) * 1024 * 1024)
Item = tuple[Any, Mapping[str, Any], int]  # (result, inputs, approximate bytes)


def fingerprint(inputs: Mapping[str, Any]) -> str:
    """A stable key for a dict of inputs (model identity, prompt, every parameter)."""
    raw = json.dumps({k: repr(v) for k, v in sorted(inputs.items())}, ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


def approx_bytes(obj: Any, _depth: int = 0) -> int:
    """Rough size of a result: arrays, tensors and frames by their buffers, containers and dataclasses by parts."""
    if _depth > 4:
        return 0
    if hasattr(obj, "nbytes") and isinstance(obj.nbytes, int):  # numpy
        return int(obj.nbytes)
    if hasattr(obj, "element_size") and hasattr(obj, "nelement"):  # torch
        return int(obj.element_size() * obj.nelement())
    if hasattr(obj, "memory_usage") and hasattr(obj, "columns"):  # pandas
        return int(obj.memory_usage(index=True, deep=False).sum())
    if isinstance(obj, Mapping):
        return sum(approx_bytes(v, _depth + 1) for v in obj.values()) + 64 * len(obj)
    if isinstance(obj, (list, tuple, set, frozenset)):
        return sum(approx_bytes(v, _depth + 1) for v in obj) + 8 * len(obj)
    if hasattr(obj, "__dataclass_fields__"):
        return sum(approx_bytes(getattr(obj, f, None), _depth + 1) for f in obj.__dataclass_fields__)
    return sys.getsizeof(obj) if isinstance(obj, (str, bytes)) else 16


class SessionResults:
    """LRU of (slot, inputs) -> result, bounded by approximate bytes; one per browser session."""

    def __init__(self, max_bytes: int = MAX_SESSION_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str], Item] = OrderedDict()
        self._latest: dict[str, str] = {}  # slot -> fingerprint of its newest result
        self._lock = threading.RLock()  # the process-wide store is written by sessions and the warm-up thread

    @property
    def n_bytes(self) -> int:
        return sum(size for _, _, size in self._items.values())

    def get(self, slot: str, fp: str) -> Item | None:
        with self._lock:
            item = self._items.get((slot, fp))
            if item is not None:
                self._items.move_to_end((slot, fp))
            return item

    def latest(self, slot: str) -> Item | None:
        fp = self._latest.get(slot)
        return None if fp is None else self._items.get((slot, fp))

    def put(self, slot: str, fp: str, result: Any, inputs: Mapping[str, Any]) -> None:
        with self._lock:
            self._items[(slot, fp)] = (result, dict(inputs), approx_bytes(result))
            self._items.move_to_end((slot, fp))
            self._latest[slot] = fp
            while len(self._items) > 1 and self.n_bytes > self.max_bytes:
                (old_slot, old_fp), _ = self._items.popitem(last=False)
                if self._latest.get(old_slot) == old_fp:
                    del self._latest[old_slot]
