"""Guarantees 8 and 9 through the app: the shared server refuses local paths outside its roots by
default, workshop mode offers only its list, and model text never reaches raw HTML unescaped."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from interp_core.paths import active_roots

APP = str(Path(__file__).resolve().parents[2] / "app.py")


XSS = "<script>window.__xss=1</script> <img src=x onerror=alert(1)> Alice"


def run_app(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    for k, v in query.items():
        at.query_params[k] = str(v)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("model, needle", [
    ("/etc", "outside the folders"),
    ("/proc/self", "outside the folders"),
    ("~/.ssh", "'~'"),
    ("../../../etc", "'..'"),
    ("./assets/../../..", "'..'"),
])
def test_default_server_roots_refuse_paths(model, needle, monkeypatch):
    monkeypatch.delenv("LOOKING_GLASS_ALLOWED_ROOTS", raising=False)
    at = run_app(model=model)
    errs = [e.value for e in at.error]
    assert len(errs) == 1 and needle in errs[0], errs
    assert at.session_state["lm"] is None
    assert active_roots() == (), "the app's restriction must not leak into the test's own thread"


def test_workshop_mode_offers_only_its_list(monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_WORKSHOP_MODELS", "minilm-l6")
    at = run_app(model="/etc")
    box = at.sidebar.selectbox(key="w_model")
    assert list(box.options) == ["minilm-l6"] or [o.split(" — ")[0] for o in box.options] == ["minilm-l6"]
    assert not at.sidebar.text_input and not at.error
    assert at.session_state["lm"].spec.name == "minilm-l6"


@pytest.fixture
def tiny_app(tiny_dirs, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_ALLOWED_ROOTS", str(tiny_dirs["gpt2"].parent))
    return str(tiny_dirs["gpt2"])


def test_local_corpus_outside_roots_is_refused(tiny_app):
    at = run_app(model=tiny_app)
    at.switch_page("pages/neuron_explorer.py")
    at.run()
    at.radio(key="ne_corpus_kind").set_value("Local file").run()
    at.text_input(key="ne_corpus_path").set_value("/etc/passwd").run()
    assert not at.exception
    errs = [e.value for e in at.error]
    assert errs and "outside the folders" in errs[0], errs
    assert "root:" not in str([m.value for m in at.markdown] + [c.value for c in at.caption])


def _raw_html(at) -> list[str]:
    out = [m.value for m in at.markdown if m.proto.allow_html]
    out += [h.proto.body for h in at.get("html")]
    return out


def _assert_escaped(at):
    raw = _raw_html(at)
    for html in raw:
        assert not re.search(r"<\s*script|<\s*img", html, re.I), html[:300]
    return raw


def test_hostile_tokens_in_neuron_contexts_are_escaped(tiny_app):
    at = run_app(model=tiny_app)
    at.switch_page("pages/neuron_explorer.py")
    at.query_params.update({"ne_layer": "1", "ne_seq": "16", "ne_batch": "2", "ne_samples": "3"})
    at.run()
    at.radio(key="ne_corpus_kind").set_value("Paste text").run()
    at.text_area(key="ne_corpus_paste").set_value((XSS + " ") * 30).run()
    at.number_input(key="ne_seq").set_value(16).run()
    at.number_input(key="ne_batch").set_value(2).run()
    at.number_input(key="ne_samples").set_value(3).run()
    at.number_input(key="ne_dim").set_value(5).run()
    at.button(key="ne_seed_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    raw = _assert_escaped(at)
    assert any("&lt;" in h for h in raw), "the contexts should show the markup as escaped text"


def test_hostile_prompts_on_lens_and_ablation_pages(tiny_app):
    for page, key in (("pages/logit_lens.py", "ll_prompt"), ("pages/ablation.py", "ab_prompt")):
        at = run_app(model=tiny_app, **{key: XSS})
        at.switch_page(page)
        at.run()
        if page.endswith("ablation.py"):
            at.text_input(key="ab_target").set_value("").run()  # the tiny vocabulary has no ' Paris' token
            at.button(key="ab_run").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        _assert_escaped(at)
