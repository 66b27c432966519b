"""`flow` from the CLI on tiny models: the JSON carries the graph and the dense arrays; one-line errors."""
from __future__ import annotations

import json

import numpy as np

from interp_core.cli.main import main

PROMPT = "The Eiffel Tower is located in the city of"


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_flow_json_carries_dense_arrays_and_neurons(tiny_dirs, capsys):
    rc, out, _ = _run(capsys, "flow", "--model", str(tiny_dirs["llama"]), "--prompt", PROMPT, "--threshold", "0.03",
                      "--neurons", "1:-1", "--json")
    assert rc == 0
    res = json.loads(out)
    c = res["contributions"]
    t = len(c["tokens"])
    attn = np.array(c["attn"]["shares"])
    assert attn.shape == (3, t, t, 4) and c["attn"]["dims"] == ["layer", "destination", "source", "head"]
    np.testing.assert_allclose(attn.sum((2, 3)) + np.array(c["attn_resid"]), 1.0, atol=1e-4)
    np.testing.assert_allclose(np.array(c["mlp"]) + np.array(c["mlp_resid"]), 1.0, atol=1e-4)
    assert res["token"] == t - 1 and res["threshold"] == 0.03 and c["n_kv_heads"] == 2
    assert res["nodes"][0]["id"] == f"resid:3:{t - 1}" and all(e["share"] > 0.03 for e in res["edges"])
    assert res["neurons"]["layer"] == 1 and len(res["neurons"]["shares"]) == 64


def test_flow_text_and_errors(tiny_dirs, capsys):
    rc, out, _ = _run(capsys, "flow", "--model", str(tiny_dirs["bert"]), "--prompt", "the cat sat")
    assert rc == 0 and "information flow to position" in out and "LayerNorm" in out
    rc, out, err = _run(capsys, "flow", "--model", str(tiny_dirs["gpt2"]), "--prompt", PROMPT, "--neurons", "x",
                        "--json")
    assert rc == 1 and "LAYER:POS" in json.loads(out)["error"] and "Traceback" not in err
    rc, out, _ = _run(capsys, "flow", "--model", str(tiny_dirs["gpt2"]), "--prompt", PROMPT, "--token", "40", "--json")
    assert rc == 1 and "out of range" in json.loads(out)["error"]
