"""Guarantee 6 (CLI): any arguments give a result (exit 0) or one `error: …` line (exit 1 or 2) — never a
traceback. Hypothesis calls `interp_core.cli.main.main` in-process on tiny models; a few real subprocess runs."""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import interp_core.engine.loading
from interp_core.cli.main import COMMANDS, main

ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
HUGE = [] if os.environ.get("LG_FUZZ_NO_HUGE") else [2**40, 2**63]  # must be refused, not allocated
INTS = st.integers(-3, 5) | st.sampled_from([0, -1, 64, 129] + HUGE)
WORDS = st.sampled_from(["", "builtin:nope", "gutenberg:abc", "/etc/passwd", "../x", "~/x", "\x00", "x" * 300])


@pytest.fixture(scope="module")
def env(tiny_dirs, tiny_models, tmp_path_factory):
    """Tiny models served from memory (the CLI would otherwise reload per call), a small corpus, private cache."""
    d = tmp_path_factory.mktemp("cli")
    corpus = d / "corpus.txt"
    corpus.write_text("Alice was beginning to get very tired of sitting by her sister on the bank. " * 40)
    by_path = {str(p): tiny_models[f] for f, p in tiny_dirs.items()}
    real = interp_core.engine.loading.load_model
    mp = pytest.MonkeyPatch()
    mp.setattr(interp_core.engine.loading, "load_model", lambda spec, progress=None: by_path.get(spec.name) or real(spec, progress))
    mp.setenv("LOOKING_GLASS_CACHE", str(d / "cache"))
    yield {"corpus": str(corpus), "models": [str(tiny_dirs[f]) for f in ("gpt2", "bert", "gemma3")]}
    mp.undo()


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as e:  # argparse's own exit for bad flags
            rc = e.code if isinstance(e.code, int) else 2
    return rc, out.getvalue(), err.getvalue()


def check_outcome(argv, rc, out, err):
    assert "Traceback" not in out + err, (argv, err[-2000:])
    if rc == 0:
        return
    assert rc in (1, 2), (argv, rc, err)
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and len(last) < 700, (argv, last)


@FUZZ
@given(data=st.data())
def test_command_arguments(env, data):
    cmd = data.draw(st.sampled_from(["neurons", "scan", "dist", "info"]))
    argv = [cmd, "--model", data.draw(st.sampled_from(env["models"]))]
    if cmd == "neurons":
        argv += ["--corpus", data.draw(st.just(env["corpus"]) | WORDS), "--layer", str(data.draw(INTS)),
                 "--dim", str(data.draw(INTS | st.integers(-100, 100))), "--batch-size", str(data.draw(INTS)),
                 "--seq-len", str(data.draw(INTS | st.sampled_from([8, 16, 500]))), "--samples", str(data.draw(INTS)),
                 "--site", data.draw(st.sampled_from(["mlp", "resid"]))]
    elif cmd == "scan":
        argv += ["--corpus", data.draw(st.just(env["corpus"]) | WORDS), "--layer", str(data.draw(INTS)),
                 "--top-k", str(data.draw(INTS)), "--seq-len", str(data.draw(INTS | st.sampled_from([8, 16, 500]))),
                 "--batch-size", str(data.draw(INTS)), "--max-tokens", str(data.draw(st.sampled_from([-1, 0, 40, 200]))),
                 "--no-cache"]
    elif cmd == "dist":
        src = data.draw(st.sampled_from(["--prompt", "--corpus"]))
        argv += [src, data.draw(st.text(max_size=60) | WORDS) if src == "--prompt" else data.draw(st.just(env["corpus"]) | WORDS),
                 "--max-tokens", str(data.draw(st.sampled_from([-5, 0, 50, 300]))), "--window",
                 str(data.draw(INTS | st.sampled_from([8, 32]))), "--bins", str(data.draw(INTS | st.sampled_from([10])))]
    if data.draw(st.booleans()):
        argv.append("--json")
    rc, out, err = run_cli(argv)
    check_outcome(argv, rc, out, err)
    if rc == 0 and "--json" in argv:
        json.loads(out)


@FUZZ
@given(argv=st.lists(st.sampled_from([*COMMANDS, "--model", "--layer", "--dim", "-x", "--json", "1", "-1", "abc", "",
                                       "\x00", "--device", "tpu", "--dtype", "float16", "--help=no"]), max_size=7))
def test_random_argv(env, argv):
    if "--model" not in argv:
        argv = [*argv, "--model", "no-such-org/no-such-model"]  # never the slow default model here
    rc, out, err = run_cli(argv)
    check_outcome(argv, rc, out, err)


@pytest.mark.parametrize("args, needle", [
    (["info", "--model", "no-such-org/no-such-model"], "no-such-org/no-such-model"),
    # /etc reached through '..' from the checkout, wherever it lives: the CLI is unrestricted unless roots are configured
    (["info", "--model", os.path.relpath("/etc", ROOT)], "config.json"),
    (["info", "--model", "../../etc", "ROOTS"], "contains '..'"),
    (["info", "--model", "/etc", "ROOTS"], "outside the folders"),
    (["info", "--model", "gemma-3-270m", "--device", "tpu"], "Unknown device"),
    (["neurons", "--model", "minilm-l6", "--layer", "99", "--dim", "0", "--samples", "1"], "layer"),
    (["lens", "--model", "nonsense model id!"], ""),
])
def test_subprocess_errors(args, needle, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if "ROOTS" in args:
        args = [a for a in args if a != "ROOTS"]
        env["LOOKING_GLASS_ALLOWED_ROOTS"] = str(tmp_path)
    p = subprocess.run([sys.executable, "-m", "interp_core", *args], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode in (1, 2), (p.returncode, p.stderr[-1500:])
    assert "Traceback" not in p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and needle.lower() in last.lower(), last


@pytest.mark.parametrize("extra", [
    ["neurons", "--layer", "0", "--dim", "0", "--samples", str(2**63), "--batch-size", "1"],
    ["neurons", "--layer", "0", "--dim", "0", "--samples", "1", "--batch-size", str(2**40)],
    ["neurons", "--layer", str(2**63), "--dim", "0", "--samples", "1"],
    ["neurons", "--layer", "0", "--dim", str(-2**63), "--samples", "1"],
    ["scan", "--layer", "0", "--top-k", str(2**40), "--max-tokens", "40", "--seq-len", "8", "--no-cache"],
    ["scan", "--layer", "0", "--batch-size", str(2**40), "--max-tokens", "40", "--seq-len", "8", "--no-cache"],
    ["dist", "--prompt", "Alice", "--bins", str(2**40)],
], ids=lambda a: " ".join(a)[:60])
def test_huge_numbers_are_refused_not_allocated(env, extra):
    """Absurd sizes must come back as one error line, not an attempt to allocate them (or a crash)."""
    argv = [a.replace("CORPUS", env["corpus"]) for a in extra]
    if argv[0] in ("neurons", "scan"):
        argv += ["--corpus", env["corpus"]]
    argv += ["--model", env["models"][0]]
    rc, out, err = run_cli(argv)
    check_outcome(argv, rc, out, err)
    assert rc == 1 and "out of memory" not in err, err.strip().splitlines()[-1:]
