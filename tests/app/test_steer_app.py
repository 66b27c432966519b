"""The playground's steering mode with AppTest on a tiny GPT-2: the default comparison, α changes, a sweep
point picked through the URL, the links in ("steer instead") and uploads that stay in their session."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def tiny_app(tiny_dirs, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_ALLOWED_ROOTS", str(tiny_dirs["gpt2"].parent))
    return str(tiny_dirs["gpt2"])


def _steer_page(model: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["model"] = model
    at.query_params["ab_mode"] = "Steer"
    for k, v in query.items():
        at.query_params[k] = str(v)
    at.run()
    at.switch_page("pages/ablation.py")
    at.run()
    assert not at.exception, at.exception
    return at


def _html(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_default_comparison_then_alpha_change(tiny_app):
    at = _steer_page(tiny_app)
    assert not at.error, [e.value for e in at.error]
    assert at.radio(key="ab_mode").value == "Steer"
    assert at.text_area(key="sv_prompt").value == "I think that you are"
    labels = [m.label for m in at.metric]
    assert any(label.startswith("Typical norm at resid_pre") for label in labels), labels
    assert "sv-gen-main-clean" in _html(at) and "sv-gen-main-steered" in _html(at)
    assert "sv-diff" in _html(at), "the default steering changes the continuation: its tokens are highlighted"
    before = [m.value for m in at.metric]
    at.number_input(key="sv_alpha").set_value(0.0).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.query_params["sv_alpha"] == ["0.0"] or at.query_params["sv_alpha"] == "0.0"
    assert [m.value for m in at.metric] != before
    assert "sv-diff" not in _html(at).split("Strength sweep")[0], "α = 0 leaves the continuation unchanged"


def test_sweep_point_from_the_url_shows_its_generation(tiny_app):
    at = _steer_page(tiny_app, sv_alphas="-1:1:3", sv_pick="+1", sv_gen=6)
    assert not at.error, [e.value for e in at.error]
    heads = [h.value for h in at.subheader]
    assert "α = +1: clean vs steered" in heads, heads
    assert "sv-gen-pick-steered" in _html(at)


def test_steer_instead_from_an_ablation(tiny_app):
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["model"] = tiny_app
    at.run()
    at.switch_page("pages/ablation.py")
    at.run()
    at.text_input(key="ab_target").set_value("").run()  # the tiny vocabulary has no ' Paris' token
    at.selectbox(key="ab_site").set_value("neuron").run()
    at.text_input(key="ab_index").set_value("7").run()
    at.button(key="ab_run").click().run()
    at.button(key="ab_steer_instead").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.radio(key="ab_mode").value == "Steer"
    assert at.radio(key="sv_src").value == "neuron"
    assert at.text_input(key="sv_neuron").value.endswith(":7")
    assert any(m.label.startswith("Typical norm") for m in at.metric)


def test_an_uploaded_vector_is_named_in_the_link_and_asked_for_elsewhere(tiny_app):
    at = _steer_page(tiny_app, sv_src="upload", sv_upload="mine.npy#0123456789ab")
    errs = [e.value for e in at.error]
    assert any("'mine.npy#0123456789ab' is kept only in the session that uploaded it" in e for e in errs), errs
    assert at.query_params["sv_src"] in ("upload", ["upload"])


def test_steer_towards_a_lens_cells_token(tiny_app):
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["model"] = tiny_app
    at.query_params["ll_layer"] = "1"
    at.query_params["ll_pos"] = "3"
    at.query_params["ll_target"] = ""
    at.run()
    at.switch_page("pages/logit_lens.py")
    at.run()
    assert not at.exception, at.exception
    at.button(key="ll_steer_here").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.radio(key="ab_mode").value == "Steer"
    assert at.radio(key="sv_src").value == "token"
    assert (at.selectbox(key="sv_site").value, at.number_input(key="sv_layer").value) == ("resid_pre", 1)
    assert any(m.label.startswith("Typical norm at resid_pre 1") for m in at.metric)


def test_the_sweep_does_not_depend_on_alpha(tiny_dirs):
    from interp_core import load_model, make_spec
    from ui.jobs.steer import sweep_key, widget_defaults

    lm = load_model(make_spec(str(tiny_dirs["gpt2"]), device="cpu"))
    v = widget_defaults(lm)
    assert sweep_key(lm, {**v, "sv_alpha": 3.0}) == sweep_key(lm, v)
    assert sweep_key(lm, {**v, "sv_alphas": "0,1"}) != sweep_key(lm, v)
