"""Guarantee 3: one load per model per process, a bounded and configurable number of models in memory,
and switching models frees the old one (checked with weakref + gc)."""
from __future__ import annotations

import gc
import importlib
import threading
import time
import weakref

import pytest

import interp_core
from interp_core import make_spec


@pytest.fixture
def cache_module(monkeypatch):
    """ui.cache reloaded under a chosen LOOKING_GLASS_MAX_MODELS; restored (and emptied) afterwards."""
    import ui.cache

    def with_max(n: int):
        monkeypatch.setenv("LOOKING_GLASS_MAX_MODELS", str(n))
        mod = importlib.reload(ui.cache)
        mod.cached_model.clear()
        return mod

    yield with_max
    ui.cache.cached_model.clear()
    monkeypatch.undo()
    importlib.reload(ui.cache)
    gc.collect()


def _counting_loader(monkeypatch, delay: float = 0.0):
    calls: list[str] = []
    real = interp_core.load_model

    def load(spec, progress=None):
        calls.append(spec.name)
        time.sleep(delay)  # widen the race window
        return real(spec, progress)

    monkeypatch.setattr(interp_core, "load_model", load)
    return calls


def test_eight_cold_starts_load_once(cache_module, tiny_dirs, monkeypatch):
    mod = cache_module(2)
    calls = _counting_loader(monkeypatch, delay=1.0)
    spec = make_spec(str(tiny_dirs["gpt2"]), device="cpu")
    barrier = threading.Barrier(8)
    got = []

    def session():
        barrier.wait()
        got.append(mod.cached_model(spec))

    threads = [threading.Thread(target=session) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(got) == 8
    assert len(calls) == 1, f"the model was loaded {len(calls)} times"
    assert all(m is got[0] for m in got), "every session must share the one cached model"


def test_switching_frees_the_old_model(cache_module, tiny_dirs, monkeypatch):
    mod = cache_module(1)
    a = mod.cached_model(make_spec(str(tiny_dirs["gpt2"]), device="cpu"))
    ref_model, ref_lm = weakref.ref(a.model), weakref.ref(a)
    del a
    b = mod.cached_model(make_spec(str(tiny_dirs["llama"]), device="cpu"))
    gc.collect()
    assert ref_lm() is None and ref_model() is None, "the previous model is still in memory after switching"
    assert b.info.family == "llama"


def test_models_in_memory_are_bounded(cache_module, tiny_dirs, monkeypatch):
    mod = cache_module(2)
    calls = _counting_loader(monkeypatch)
    refs = {}
    for fam in ("gpt2", "llama", "gemma3"):
        refs[fam] = weakref.ref(mod.cached_model(make_spec(str(tiny_dirs[fam]), device="cpu")).model)
    gc.collect()
    alive = [f for f, r in refs.items() if r() is not None]
    assert alive == ["llama", "gemma3"], f"with LOOKING_GLASS_MAX_MODELS=2, alive: {alive}"
    # the two newest are served from memory: no new load
    mod.cached_model(make_spec(str(tiny_dirs["llama"]), device="cpu"))
    assert calls == [str(tiny_dirs[f]) for f in ("gpt2", "llama", "gemma3")]


def test_same_identity_different_dtype_or_device_is_a_different_entry():
    a = make_spec("gemma-3-270m", device="cpu")
    assert a == make_spec(" gemma-3-270m ", device="cpu")
    assert a != make_spec("gemma-3-270m", device="cpu", revision="main")


def test_max_models_setting_is_read_and_clamped(monkeypatch):
    for raw, want in (("3", 3), ("0", 1), ("-5", 1), ("lots", 2)):
        monkeypatch.setenv("LOOKING_GLASS_MAX_MODELS", raw)
        assert interp_core.load_settings().max_models == want
