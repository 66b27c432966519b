"""`steer` from the CLI on tiny models: JSON with both top-k lists and both generations, the α sweep from a
range that starts with a minus sign, a saved vector read back, and one-line errors."""
from __future__ import annotations

import json

from interp_core.cli.main import main

PROMPT = "The Eiffel Tower is located in the city of"


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_steer_json_with_sweep_and_saved_vector(tiny_dirs, capsys, tmp_path):
    model = str(tiny_dirs["llama"])
    vec = tmp_path / "dir.safetensors"
    rc, out, err = _run(capsys, "steer", "--model", model, "--prompt", PROMPT, "--layer", "1", "--contrast",
                        "Alice was", "The Red Queen", "--alpha", "2", "--alpha-unit", "norm", "--alphas", "-2:2:3",
                        "--generate", "5", "--save-vector", str(vec), "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert len(r["clean"]["top"]) == 10 and len(r["steered"]["top"]) == 10
    assert len(r["clean"]["generation"]["tokens"]) == 5  # (the steered row may stop early at EOS)
    assert 1 <= len(r["steered"]["generation"]["tokens"]) <= 5
    assert abs(r["added_norm"] - 2 * r["typical_norm"]) < 1e-3 * r["typical_norm"]
    assert [x["alpha"] for x in r["sweep"]["records"]] == [-2.0, 0.0, 2.0]
    assert r["sweep"]["records"][1]["generation"]["tokens"] == r["clean"]["generation"]["tokens"]
    assert vec.exists()
    rc, out2, _ = _run(capsys, "steer", "--model", model, "--prompt", PROMPT, "--layer", "1", "--vector", str(vec),
                       "--alpha", "2", "--alpha-unit", "norm", "--generate", "5", "--json")
    assert rc == 0 and json.loads(out2)["steered"]["generation"] == r["steered"]["generation"]


def test_steer_text_and_errors(tiny_dirs, capsys):
    model = str(tiny_dirs["gpt2"])
    rc, out, _ = _run(capsys, "steer", "--model", model, "--prompt", PROMPT, "--layer", "0", "--neuron", "1:3",
                      "--generate", "3")
    assert rc == 0 and "MLP neuron 1:3 (w_out)" in out and "steered gen:" in out
    rc, out, err = _run(capsys, "steer", "--model", model, "--prompt", PROMPT, "--layer", "7", "--resid-dim", "0",
                        "--json")
    assert rc == 1 and "out of range" in json.loads(out)["error"] and "Traceback" not in err
    rc, out, _ = _run(capsys, "steer", "--model", model, "--prompt", PROMPT, "--layer", "0", "--neuron", "13",
                      "--json")
    assert rc == 1 and "LAYER:INDEX" in json.loads(out)["error"]
