"""Neuron explorer: scan every layer in one pass, then pick any layer without recomputing (embedded Gemma)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
SMALL = {"ne_batch": 2, "ne_seq": 32, "ne_layer": 2, "ne_maxtok": 300, "ne_topk": 3}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    from interp_core import load_settings

    real = load_settings().cache_dir / "models"
    (tmp_path / "cache").mkdir()
    if real.exists():
        os.symlink(real, tmp_path / "cache" / "models")
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LOOKING_GLASS_RAY_ADDRESS", raising=False)
    return tmp_path / "cache"


def test_scan_all_layers_then_pick_any_layer_from_the_cache(cache):
    at = AppTest.from_file(APP, default_timeout=600)
    at.run()
    at.switch_page("pages/neuron_explorer.py")
    for k, v in SMALL.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    at.button(key="ne_scan_all_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Scanned with these settings" in c.value and "0, 1, 2" in c.value and "17" in c.value
               for c in at.caption)
    with pytest.raises(KeyError):
        at.button(key="ne_scan_all_run")  # nothing left to scan
    at.number_input(key="ne_layer").set_value(11).run()
    assert not at.exception and not at.error
    assert any("mlp_neurons.11 over 300 tokens (from the disk cache)" in s.value for s in at.success)
