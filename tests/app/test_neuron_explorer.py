"""Neuron explorer page end to end on the embedded Gemma 3 270M with the built-in Looking-Glass text."""
from __future__ import annotations

import os

import pytest

PAGE = "pages/neuron_explorer.py"
SMALL = {"ne_samples": 5, "ne_batch": 2, "ne_seq": 32, "ne_layer": 2, "ne_dim": 10, "ne_maxtok": 2000, "ne_topk": 5}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private scan/token cache that still sees the converted embedded model (no reconversion)."""
    from interp_core import load_settings

    real = load_settings().cache_dir / "models"
    (tmp_path / "cache").mkdir()
    if real.exists():
        os.symlink(real, tmp_path / "cache" / "models")
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"




def _open(app, **state):
    return app.open(PAGE, state={**SMALL, **state})


def test_seed_scan_and_neuron_detail(app, cache):
    at = _open(app)
    assert any("Looking-Glass" in c.value for c in at.caption)  # says where the corpus comes from
    at.button(key="ne_seed_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("distinct winning tokens in 5 samples" in h.value for h in at.subheader)
    winners = at.dataframe[0].value
    assert winners["count"].sum() == 5 and list(winners.columns) == ["token", "token_id", "count", "fraction"]

    app.press(at, "ne_scan_run")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("2,048 neurons of mlp_neurons.2 over 2,000 tokens" in s.value for s in at.success)
    at.number_input(key="ne_neuron").set_value(17).run()
    assert not at.exception and not at.error
    assert any(h.value == "Neuron 17" for h in at.subheader)
    top = [d.value for d in at.dataframe if "window_start" in d.value.columns and "sample" not in d.value.columns][-1]
    assert len(top) == 5 and top["activation"].is_monotonic_decreasing
    assert (top["window_start"] <= top["index"]).all()
    assert at.query_params["ne_neuron"] == ["17"] or at.query_params["ne_neuron"] == "17"

    again = _open(app, ne_neuron=17)  # a fresh session reopens the scan from the disk cache without a button
    assert any("from the disk cache" in s.value for s in again.success)
    assert any(h.value == "Neuron 17" for h in again.subheader)
    # what it writes: two ranked tables; the chart is drawn only while its expander is open
    def writes_charts():
        return [c for c in again.get("plotly_chart") if " #17 writes (" in c.proto.spec]  # its title
    assert not writes_charts()
    again.session_state["ne_scan_writes_chart_open"] = True
    again.run()
    assert not again.exception and not again.error
    assert len(writes_charts()) == 1


def test_bad_inputs_show_one_clear_message(app, cache):
    # out-of-range numbers are clamped into the widgets' ranges (ui.state.seed), never passed on
    at = _open(app, ne_layer=99)
    assert not at.exception
    assert at.number_input(key="ne_layer").value == 17

    at = _open(app, ne_dim=5000)
    assert at.number_input(key="ne_dim").value == 2047

    at = _open(app)
    at.radio(key="ne_corpus_kind").set_value("Paste text").run()
    at.text_area(key="ne_corpus_paste").input("Alice went through the glass.").run()
    at.button(key="ne_seed_run").click().run()
    assert not at.exception
    assert any("shorter than one window" in e.value for e in at.error)

    at.radio(key="ne_corpus_kind").set_value("Local file").run()
    at.text_input(key="ne_corpus_path").input(str(cache / "missing.txt")).run()
    assert not at.exception
    assert any("does not exist" in e.value for e in at.error)
