"""`attn`, `dla`, `neurons --writes` and `neurons --prompt` from the CLI on tiny models: JSON shapes, text
output and one-line errors."""
from __future__ import annotations

import json

import numpy as np

from interp_core.cli.main import main

PROMPT = "The Eiffel Tower is located in the city of"


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_attn_json_one_head(tiny_dirs, capsys):
    rc, out, _ = _run(capsys, "attn", "--model", str(tiny_dirs["gpt_neo"]), "--prompt", PROMPT, "--layer", "1",
                      "--head", "2", "--json")
    assert rc == 0
    res = json.loads(out)
    (lay,) = res["layers"]
    assert lay["layer"] == 1 and lay["kind"] == "sliding" and lay["window"] == 16
    (head,) = lay["heads"]
    p = np.array(head["pattern"])
    assert head["head"] == 2 and p.shape == (len(res["tokens"]),) * 2
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)


def test_attn_text_and_bad_head(tiny_dirs, capsys):
    rc, out, _ = _run(capsys, "attn", "--model", str(tiny_dirs["bert"]), "--prompt", "the cat sat", "--layer", "0")
    assert rc == 0 and "bidirectional" in out and out.count("L 0 H") == 4
    rc, out, err = _run(capsys, "attn", "--model", str(tiny_dirs["gpt2"]), "--prompt", PROMPT, "--head", "9", "--json")
    assert rc == 1 and "out of range" in json.loads(out)["error"] and "Traceback" not in err


def test_dla_json_adds_up(tiny_dirs, capsys):
    rc, out, _ = _run(capsys, "dla", "--model", str(tiny_dirs["llama"]), "--prompt", PROMPT, "--target", "E",
                      "--foil", "F", "--position", "-2", "--json")
    assert rc == 0
    res = json.loads(out)
    parts = res["embed"] + sum(res["attn"]) + sum(res["mlp"]) + res["norm_bias"]
    assert abs(parts - res["actual"]) < 1e-4 and abs(res["total"] - res["actual"]) < 1e-4
    assert np.array(res["heads"]).shape == (3, 4) and res["label"] == "logit['E'] − logit['F']"
    assert "frozen" in res["note"]


def test_dla_refuses_bert_in_one_line(tiny_dirs, capsys):
    rc, _, err = _run(capsys, "dla", "--model", str(tiny_dirs["bert"]), "--prompt", "the cat [MASK].", "--target", "the")
    last = err.strip().splitlines()[-1]
    assert rc == 1 and last.startswith("error: Direct logit attribution is not available for this model")
    assert "Traceback" not in err


def test_neurons_writes_and_prompt(tiny_dirs, capsys):
    rc, out, _ = _run(capsys, "neurons", "--model", str(tiny_dirs["gemma3"]), "--layer", "1", "--dim", "3", "--writes",
                      "--prompt", PROMPT, "--top", "5", "--json")
    assert rc == 0
    res = json.loads(out)
    w = res["writes"]
    assert len(w["raw_promotes"]) == 5 and len(w["normed_suppresses"]) == 5
    assert w["raw_promotes"][0]["value"] >= w["raw_promotes"][-1]["value"] > w["raw_suppresses"][0]["value"]
    p = res["prompt"]
    assert len(p["activations"]) == len(p["tokens"]) and len(p["top"][0]["dims"]) == 10
    rc, out, _ = _run(capsys, "neurons", "--model", str(tiny_dirs["gpt2"]), "--layer", "0", "--dim", "1", "--writes")
    assert rc == 0 and out.startswith(f"{tiny_dirs['gpt2']} mlp layer 0 dim 1") and "promotes (normed)" in out
