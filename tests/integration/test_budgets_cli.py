"""Every input budget refuses from the CLI with one sentence naming the limit and its setting, exit 1,
no traceback, and nothing started (no forward pass ran). Tiny models served in-process."""
from __future__ import annotations

import contextlib
import io

import pytest

import interp_core.engine.loading
from interp_core.budgets import budgets
from interp_core.cli.main import main
from interp_core.engine.model import LoadedModel

LONG_TEXT = "Alice was beginning to get very tired of sitting by her sister on the bank. " * 6


@pytest.fixture(scope="module")
def cli(tiny_dirs, tiny_models, tmp_path_factory):
    d = tmp_path_factory.mktemp("budget_cli")
    corpus = d / "corpus.txt"
    corpus.write_text(LONG_TEXT * 30)
    by_path = {str(p): tiny_models[f] for f, p in tiny_dirs.items()}
    real = interp_core.engine.loading.load_model
    mp = pytest.MonkeyPatch()
    mp.setattr(interp_core.engine.loading, "load_model", lambda spec, progress=None: by_path.get(spec.name) or real(spec, progress))
    mp.setenv("LOOKING_GLASS_CACHE", str(d / "cache"))
    yield {"corpus": str(corpus), "gpt2": str(tiny_dirs["gpt2"])}
    mp.undo()


@pytest.fixture
def forward_calls(monkeypatch):
    calls = []
    real = LoadedModel.run

    def counting(self, *a, **kw):
        calls.append(1)
        return real(self, *a, **kw)
    monkeypatch.setattr(LoadedModel, "run", counting)
    return calls


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


CASES = [  # (env setting, value, argv after --model, budget name)
    ("LOOKING_GLASS_MAX_LENS_TOKENS", "8", ["lens", "--prompt", LONG_TEXT[:200]], "lens_tokens"),
    ("LOOKING_GLASS_MAX_LENS_TOKENS", "8", ["lens", "--prompt", LONG_TEXT[:200], "--mask-sweep"], "lens_tokens"),
    ("LOOKING_GLASS_MAX_ABLATION_TOKENS", "8", ["ablate", "--prompt", LONG_TEXT[:200], "--site", "resid",
                                                "--layer", "1"], "ablation_tokens"),
    ("LOOKING_GLASS_MAX_GENERATE_TOKENS", "4", ["ablate", "--prompt", "Alice was", "--site", "resid", "--layer", "1",
                                                "--generate", "20"], "generate_tokens"),
    ("LOOKING_GLASS_MAX_SWEEP_POINTS", "5", ["ablate", "--prompt", "Alice was", "--site", "head", "--layer", "1",
                                             "--sweep", "heads"], "sweep_points"),
    ("LOOKING_GLASS_MAX_HISTOGRAM_TOKENS", "50", ["dist", "--corpus", "{corpus}", "--max-tokens", "500"],
     "histogram_tokens"),
    ("LOOKING_GLASS_MAX_HISTOGRAM_TOKENS", "8", ["dist", "--prompt", LONG_TEXT[:200]], "histogram_tokens"),
    ("LOOKING_GLASS_MAX_SCAN_TOKENS", "100", ["scan", "--corpus", "{corpus}", "--layer", "1", "--seq-len", "16",
                                              "--no-cache"], "scan_tokens"),
    ("LOOKING_GLASS_MAX_SEED_TOKENS", "1000", ["neurons", "--corpus", "{corpus}", "--layer", "1", "--dim", "3",
                                               "--seq-len", "16", "--batch-size", "4", "--samples", "100"],
     "seed_tokens"),
]


@pytest.mark.parametrize("env, value, argv, name", CASES, ids=[f"{c[3]}-{c[2][0]}" for c in CASES])
def test_budget_refused_from_cli(cli, forward_calls, monkeypatch, env, value, argv, name):
    monkeypatch.setenv(env, value)
    argv = [a.replace("{corpus}", cli["corpus"]) for a in argv]
    rc, out, err = run_cli([argv[0], "--model", cli["gpt2"], *argv[1:]])
    assert rc == 1 and "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: That is "), err
    budget = getattr(budgets(), name)
    assert f"the limit is {int(value):,} (setting {env})" in lines[0] and budget.what in lines[0]
    assert forward_calls == [], "a refused run must not start any model work"


def test_within_budget_runs(cli, forward_calls, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_MAX_LENS_TOKENS", "64")
    rc, out, err = run_cli(["lens", "--model", cli["gpt2"], "--prompt", "Alice was beginning", "--json"])
    assert rc == 0 and forward_calls, err


def test_workshop_mode_tightens_scan_and_seed(monkeypatch):
    monkeypatch.delenv("LOOKING_GLASS_MAX_SCAN_TOKENS", raising=False)
    monkeypatch.delenv("LOOKING_GLASS_WORKSHOP", raising=False)
    monkeypatch.delenv("LOOKING_GLASS_WORKSHOP_MODELS", raising=False)
    personal = budgets().scan_tokens.value
    monkeypatch.setenv("LOOKING_GLASS_WORKSHOP", "1")
    assert budgets().scan_tokens.value < personal and budgets().seed_tokens.value >= 1000 * 32 * 256
    monkeypatch.setenv("LOOKING_GLASS_MAX_SCAN_TOKENS", "123")
    assert budgets().scan_tokens.value == 123
    with pytest.raises(Exception, match="LOOKING_GLASS_MAX_SCAN_TOKENS"):
        budgets().scan_tokens.check(124)


@pytest.mark.slow
def test_twenty_thousand_token_prompt_is_refused_at_once(gemma, forward_calls):
    """The issue's example: a 20,000-token prompt to the lens used to run for minutes; now it is refused at once."""
    from interp_core import UserError
    from interp_core.lens import compute_lens

    prompt = " word" * 20_000
    with pytest.raises(UserError, match=r"limit is 512 \(setting LOOKING_GLASS_MAX_LENS_TOKENS\)"):
        compute_lens(gemma, prompt)
    assert forward_calls == []
