"""Features in the neuron explorer (AppTest, tiny GPT-2): with no SAE the page offers "train one for this layer";
the trained SAE is then picked, scanned like a layer, a feature opens with its contexts and "ablate this feature",
and the prompt tab lists the features firing on the prompt."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
SMALL = {"ne_site": "sae", "ne_seq": 32, "ne_batch": 4, "ne_topk": 3, "ne_maxtok": 800, "ne_train_layer": 1,
         "ne_train_latents": 32, "ne_train_k": 4, "ne_train_max_tokens": 1200}


def _ok(at):
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_train_pick_scan_ablate_and_prompt(tiny_dirs, monkeypatch, tmp_path):
    monkeypatch.setenv("LOOKING_GLASS_ALLOWED_ROOTS", str(tiny_dirs["gpt2"].parent))
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LOOKING_GLASS_WARMUP", "0")
    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params["model"] = str(tiny_dirs["gpt2"])
    at.query_params["ne_tab"] = "Layer scan"
    at.run()
    at.switch_page("pages/neuron_explorer.py")
    for k, v in SMALL.items():
        at.session_state[k] = v
    at.run()
    _ok(at)
    assert any("No SAE for this model yet" in i.value for i in at.info)
    at.button(key="ne_sae_train_run").click().run()
    _ok(at)
    at.run()  # the page picks the new SAE
    _ok(at)
    assert any("Features of" in c.value for c in at.caption), [c.value for c in at.caption]
    if not any("features of sae." in s.value for s in at.success):
        at.button(key="ne_scan_run").click().run()
    _ok(at)
    assert any("32 features of sae.2:" in s.value for s in at.success), [s.value for s in at.success]
    assert any(h.value.startswith("Feature ") for h in at.subheader)
    at.button(key="ne_feature_ablation_run").click().run()
    _ok(at)
    assert any("Clean vs feature" in m.value for m in at.markdown)

    at.query_params["ne_tab"] = "On your own prompt"
    at.run()
    _ok(at)
    assert any("Features on your prompt" in m.value for m in at.markdown), [m.value for m in at.markdown][:20]

    # the logit lens: a cell of the hidden state the SAE reads (layer 2) lists the features there, and opens one
    at.query_params["ll_layer"] = "2"
    at.query_params["ll_pos"] = "3"
    at.switch_page("pages/logit_lens.py")
    at.run()
    _ok(at)
    if not any("Features at this layer and position" in m.value for m in at.markdown):
        for b in at.button:
            if b.label == "Run the logit lens":
                b.click().run()
    _ok(at)
    assert any("Features at this layer and position" in m.value for m in at.markdown), [m.value for m in at.markdown]

    # "steer with this feature": the playground's steering mode on the opened feature, computed on arrival
    at.query_params["ne_tab"] = "Layer scan"
    at.session_state["ne_tab"] = "Layer scan"
    at.switch_page("pages/neuron_explorer.py")
    at.run()
    _ok(at)
    at.button(key="ne_steer_feature").click().run()
    _ok(at)
    assert at.radio(key="ab_mode").value == "Steer"
    assert at.radio(key="sv_src").value == "feature"
    assert at.selectbox(key="sv_sae").value == "gpt2-resid_post1-topk32-k4"
    assert (at.selectbox(key="sv_site").value, at.number_input(key="sv_layer").value) == ("resid_pre", 2)
    assert any(m.label.startswith("Typical norm at resid_pre 2") for m in at.metric), [m.label for m in at.metric]
