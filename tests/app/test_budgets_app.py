"""Every input budget refuses on the pages with one clear sentence (an error box naming the limit and
its setting), no traceback, and none of the refused method's model work started. A tiny GPT-2 keeps it fast."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from interp_core.engine.model import LoadedModel

APP = str(Path(__file__).resolve().parents[2] / "app.py")
LONG = "Alice was beginning to get very tired of sitting by her sister on the bank and of having nothing to do"
METHODS = {"compute_lens", "run_ablation", "sweep", "activation_distributions", "scan_layers", "seed_method",
           "masked_sweep", "decoder_sweep"}


@pytest.fixture
def started(monkeypatch):
    """Names of the refusable methods that reached a forward pass."""
    seen: list[str] = []
    real = LoadedModel.run

    def run(self, *a, **kw):
        seen.extend(f.function for f in inspect.stack()[1:40] if f.function in METHODS)
        return real(self, *a, **kw)
    monkeypatch.setattr(LoadedModel, "run", run)
    return seen


@pytest.fixture
def tiny_gpt2(tiny_dirs, monkeypatch, tmp_path):
    monkeypatch.setenv("LOOKING_GLASS_ALLOWED_ROOTS", str(tiny_dirs["gpt2"].parent))
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LOOKING_GLASS_WARMUP", "0")  # only the page's own runs count as "started"
    return str(tiny_dirs["gpt2"])


def open_page(model: str, page: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["model"] = model
    for k, v in query.items():
        at.query_params[k] = str(v)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def press(at: AppTest, label: str) -> AppTest:
    """Click the run button when the page waits for it (larger runs wait for a click)."""
    for b in at.button:
        if b.label == label:
            b.click().run()
            break
    assert not at.exception, at.exception
    return at


def refusal(at: AppTest, setting: str) -> str:
    errs = [e.value for e in at.error if setting in e.value]
    assert len(errs) == 1, [e.value for e in at.error]
    assert "the limit is" in errs[0] and errs[0].count(".") <= 2 and "Traceback" not in errs[0]
    return errs[0]


def test_lens_prompt_budget(tiny_gpt2, started, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_MAX_LENS_TOKENS", "8")
    at = open_page(tiny_gpt2, "pages/logit_lens.py", ll_prompt=LONG)
    if not at.error:
        press(at, "Run the logit lens")
    assert "prompt tokens for the logit lens" in refusal(at, "LOOKING_GLASS_MAX_LENS_TOKENS")
    assert "compute_lens" not in started and not at.get("plotly_chart")


def test_ablation_prompt_and_generation_budgets(tiny_gpt2, started, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_MAX_ABLATION_TOKENS", "8")
    at = open_page(tiny_gpt2, "pages/ablation.py", ab_prompt=LONG)
    if not any("LOOKING_GLASS_MAX_ABLATION_TOKENS" in e.value for e in at.error):
        press(at, "Run ablation")
    refusal(at, "LOOKING_GLASS_MAX_ABLATION_TOKENS")
    assert "run_ablation" not in started


def test_histogram_budget(tiny_gpt2, started, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_MAX_HISTOGRAM_TOKENS", "40")
    at = open_page(tiny_gpt2, "pages/distributions.py", ad_source="corpus", ad_tokens=500)
    if not at.error:
        press(at, "Measure")
    assert "tokens for activation distributions" in refusal(at, "LOOKING_GLASS_MAX_HISTOGRAM_TOKENS")
    assert "activation_distributions" not in started


def test_workshop_scan_budget(tiny_gpt2, started, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_WORKSHOP", "1")
    monkeypatch.setenv("LOOKING_GLASS_MAX_SCAN_TOKENS", "100")
    at = open_page(tiny_gpt2, "pages/neuron_explorer.py", ne_layer=1, ne_seq=16, ne_batch=4)
    if not any("LOOKING_GLASS_MAX_SCAN_TOKENS" in e.value for e in at.error):
        press(at, "Scan layer")
    assert "corpus tokens for one scan" in refusal(at, "LOOKING_GLASS_MAX_SCAN_TOKENS")
    assert "scan_layers" not in started
