"""settle_heap: the objects alive when a model is ready leave the cyclic collector's reach (Streamlit collects
after every script run), garbage is collected first, and LOOKING_GLASS_GC_FREEZE=0 turns it off."""
from __future__ import annotations

import gc
import weakref

from interp_core.engine.allocator import settle_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_live_objects_are_frozen_and_garbage_is_collected_first(monkeypatch):
    monkeypatch.delenv("LOOKING_GLASS_GC_FREEZE", raising=False)
    gc.unfreeze()
    try:
        kept, garbage = _Node(), _Node()
        gone = weakref.ref(garbage)
        del garbage  # unreachable, but a cycle: only a collection frees it, and it must not be frozen instead
        assert gone() is not None
        frozen = settle_heap()
        assert gone() is None
        assert frozen > 1000 and gc.get_freeze_count() > 1000
        assert not any(o is kept for o in gc.get_objects())  # frozen objects are outside the collector's lists
        assert gc.collect() == 0
    finally:
        gc.unfreeze()
    assert any(o is kept for o in gc.get_objects())


def test_frozen_cycles_are_collected_by_the_next_call(monkeypatch):
    """A cycle frozen while alive (an evicted model, say) is freed when the heap is settled again."""
    monkeypatch.delenv("LOOKING_GLASS_GC_FREEZE", raising=False)
    gc.unfreeze()
    try:
        node = _Node()
        gone = weakref.ref(node)
        settle_heap()
        del node
        gc.collect()
        assert gone() is not None  # frozen: out of the collector's reach
        settle_heap()
        assert gone() is None
    finally:
        gc.unfreeze()


def test_switched_off_by_the_environment(monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_GC_FREEZE", "0")
    gc.unfreeze()
    assert settle_heap() == 0 == gc.get_freeze_count()
