"""The resident CLI worker (warm start): a call it serves prints what an in-process call prints, with
the same exit status; a call from another environment runs in its own process; the client never imports torch."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _cli(env: dict, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "interp_core", *argv], env=env, cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def worker(tiny_dirs, tmp_path_factory):
    """A worker on a private cache, with the tiny Gemma 3 preloaded; yields (env, model folder)."""
    cache = tmp_path_factory.mktemp("worker-cache")
    env = {**os.environ, "LOOKING_GLASS_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    env.pop("LOOKING_GLASS_WORKER", None)
    model = str(tiny_dirs["gemma3"])
    proc = subprocess.Popen([sys.executable, "-m", "interp_core", "worker", "run", "--model", model], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    end = time.monotonic() + 300
    while time.monotonic() < end:
        st = _cli(env, "worker", "status", "--json")
        if json.loads(st.stdout).get("pid"):
            break
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the worker did not answer")
    yield env, model
    assert "stopped" in _cli(env, "worker", "stop").stdout
    proc.wait(30)
    assert not (cache / "cli-worker.sock").exists()


LOAD_LINE = re.compile(r"^\[ *(\d+%)?\] |Loading weights|^\s*$")  # load progress: the worker's model is loaded


def _without_loading(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if not LOAD_LINE.search(ln)]


def _served(env) -> int:
    return json.loads(_cli(env, "worker", "status", "--json").stdout)["served"]


def test_served_calls_print_what_in_process_calls_print(worker, tmp_path):
    env, model = worker
    alone = {**env, "LOOKING_GLASS_WORKER": "0"}
    cases = [
        ("info", "--model", model, "--json"),
        ("lens", "--model", model, "--prompt", "The Eiffel Tower is", "--top-k", "3", "--json"),
        ("ablate", "--model", model, "--prompt", "hi there", "--site", "mlp_out", "--layer", "99", "--json"),  # error
        ("lens", "--bogus-flag"),  # argparse error, exit 2
        ("dla", "--help"),
    ]
    for argv in cases:
        before = _served(env)
        served, own = _cli(env, *argv), _cli(alone, *argv)
        assert _served(env) == before + 1, argv  # the worker did serve it
        assert (served.returncode, served.stdout) == (own.returncode, own.stdout), argv
        assert served.stderr.splitlines() == _without_loading(own.stderr), argv


def test_another_environment_runs_in_its_own_process(worker):
    env, model = worker
    before = _served(env)
    other = _cli({**env, "LOOKING_GLASS_MAX_MODELS": "1"}, "info", "--model", model, "--json")
    layers = json.loads((Path(model) / "config.json").read_text())["num_hidden_layers"]
    assert other.returncode == 0 and json.loads(other.stdout)["n_layers"] == layers
    assert "not using the resident worker (its environment differs in LOOKING_GLASS_MAX_MODELS)" in other.stderr
    assert _served(env) == before


def test_the_client_does_not_import_torch():
    code = ("import sys, interp_core, interp_core.cli.worker, interp_core.settings, interp_core.errors; "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
