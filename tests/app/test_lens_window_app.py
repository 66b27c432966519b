"""On the logit lens page a long prompt is drawn through a position window (a range slider, the last
64 positions first), never as one column per token of a long prompt. Tiny GPT-2 (context 128)."""
from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_long_prompt_gets_a_position_slider(tiny_dirs, monkeypatch, tmp_path):
    monkeypatch.setenv("LOOKING_GLASS_ALLOWED_ROOTS", str(tiny_dirs["gpt2"].parent))
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LOOKING_GLASS_WARMUP", "0")
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["model"] = str(tiny_dirs["gpt2"])
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_dirs["gpt2"]))
    words = []
    while len(tok(" ".join(words))["input_ids"]) < 100:  # about 100 positions: more than the 64 shown
        words.append(f"w{len(words)}")
    at.query_params["ll_prompt"] = " ".join(words)
    at.run()
    at.switch_page("pages/logit_lens.py")
    at.run()
    if not at.get("plotly_chart"):
        for b in at.button:
            if b.label == "Run the logit lens":
                b.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    heat = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    n_cols = len(heat["x"])
    slider = at.slider(key="ll_window")
    lo, hi = slider.value
    assert n_cols == 64 == hi - lo + 1 and heat["x"][-1] == hi
    slider.set_value((0, 9)).run()
    assert not at.exception
    heat = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert heat["x"] == list(range(10))
