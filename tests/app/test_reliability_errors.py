"""Guarantee 10: errors are local. A model that fails to load, a failing scan and an out-of-memory error
each show one message on that page; the next page, the next run and other sessions keep working."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def roots(tiny_dirs, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_ALLOWED_ROOTS", str(tiny_dirs["gpt2"].parent))
    return tiny_dirs


def session(model: str, page: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["model"] = model
    for k, v in query.items():
        at.query_params[k] = str(v)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def test_broken_model_shows_a_message_and_other_sessions_work(roots):
    broken = roots["gpt2"].parent / "broken-model"
    shutil.copytree(roots["gpt2"], broken, dirs_exist_ok=True)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    bad = session(str(broken))
    errs = errors(bad)
    assert len(errs) == 1 and "broken-model" in errs[0] and "Traceback" not in errs[0]
    assert bad.session_state["lm"] is None
    bad.switch_page("pages/logit_lens.py")
    bad.run()
    assert not bad.exception
    # the page says what to do instead of crashing: load a model, or why the chosen one did not load
    assert (any("Load a model" in i.value for i in bad.info)
            or any("broken-model" in e and "Traceback" not in e for e in errors(bad))), (bad.info, errors(bad))
    good = session(str(roots["llama"]), "pages/logit_lens.py")
    assert not errors(good) and good.session_state["lm"].info.family == "llama"
    # and a new session on a working model, right after, loads fine
    again = session(str(roots["gpt2"]))
    assert not errors(again) and again.session_state["lm"] is not None


@pytest.mark.parametrize("exc, needle", [
    (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"), "ran out of memory"),
    (MemoryError(), "ran out of memory"),
    (RuntimeError("boom in the lens"), "failed: RuntimeError: boom in the lens"),
])
def test_failing_lens_is_local_to_its_page(roots, monkeypatch, exc, needle):
    import interp_core.lens

    at = session(str(roots["gpt2"]), "pages/logit_lens.py", ll_prompt="Alice was")
    assert not errors(at)

    def fail(*a, **k):
        raise exc

    with monkeypatch.context() as m:
        m.setattr(interp_core.lens, "compute_lens", fail)  # pages import from the room
        # a prompt of its own per case: results are shared by every session on the server (same model, same inputs)
        at.text_input(key="ll_prompt").set_value(f"Alice was beginning {type(exc).__name__}").run()
        assert not at.exception
        errs = errors(at)
        assert len(errs) == 1 and needle in errs[0], errs
        at.switch_page("pages/distributions.py")
        at.query_params["ad_source"] = "prompt"
        at.run()
        assert not at.exception and not errors(at)
        other = session(str(roots["gpt2"]), "pages/home.py")
        assert not errors(other) and any("Loaded" in s.value for s in other.success)
    at.switch_page("pages/logit_lens.py")
    at.run()
    assert not at.exception and not errors(at)
    assert at.session_state["lm"].num_hooks() == 0


def test_failing_scan_shows_a_message(roots, monkeypatch):
    import interp_core.neurons

    def fail(*a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory while scanning")

    with monkeypatch.context() as m:
        m.setattr(interp_core.neurons, "scan_layer", fail)  # pages import from the room
        m.setattr(interp_core.neurons, "cached_scan", lambda *a, **k: None)
        # a small default scan starts by itself when the page opens; a larger one waits for the button
        at = session(str(roots["gpt2"]), "pages/neuron_explorer.py", ne_layer=1, ne_seq=16, ne_batch=2,
                     ne_maxtok=200, ne_topk=3)
        if not errors(at):
            at.button(key="ne_scan_run").click().run()
        assert not at.exception
        assert any("ran out of memory" in e for e in errors(at)), errors(at)
    at.button(key="ne_scan_run").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert any("neurons of" in s.value for s in at.success)
