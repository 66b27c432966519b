"""Guarantee 5: 200 reruns with captures on leave resident memory flat.

The logit lens page runs a fresh hooked pass (captures of every layer) on each rerun, because every
rerun types a new prompt; a tiny model keeps the 200 runs quick. RSS is measured with psutil after a
warm-up of 20 runs and again after 200 more.
"""
from __future__ import annotations

import gc
from pathlib import Path

import psutil
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


WARMUP, RUNS = 20, 200
# Measured on the 2-core dev box: 21.9 MB of growth after warm-up (allocator noise, the
# session's bounded memo of lens results, Streamlit's message cache). A leak of one lens result per
# rerun (>= 0.3 MB each on the tiny model) or of a hooked cache would exceed this.
RSS_BOUND_MB = 60


def test_200_reruns_with_captures_keep_memory_flat(tiny_dirs, monkeypatch):
    folder = tiny_dirs["gpt2"]
    monkeypatch.setenv("LOOKING_GLASS_ALLOWED_ROOTS", str(folder.parent))
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["model"] = str(folder)
    at.run()
    assert not at.exception
    at.switch_page("pages/logit_lens.py")
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    lm = at.session_state["lm"]
    proc = psutil.Process()

    def rerun(i: int):
        at.text_input(key="ll_prompt").set_value(f"Alice saw the Red Queen run {i} times faster").run()
        assert not at.exception and not at.error, [e.value for e in at.error]

    for i in range(WARMUP):
        rerun(i)
    gc.collect()
    base = proc.memory_info().rss
    for i in range(WARMUP, WARMUP + RUNS):
        rerun(i)
    gc.collect()
    grown = (proc.memory_info().rss - base) / 2**20
    print(f"RSS after warm-up {base / 2**20:.0f} MB, growth over {RUNS} reruns: {grown:.1f} MB")
    assert lm.num_hooks() == 0
    assert grown < RSS_BOUND_MB, f"RSS grew {grown:.1f} MB over {RUNS} reruns (bound {RSS_BOUND_MB} MB)"
