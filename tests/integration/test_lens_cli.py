"""`python -m interp_core lens`: JSON shapes for the lens and the sweeps, and one-line errors."""
from __future__ import annotations

import json

import pytest

from interp_core.cli.main import main


def _run(capsys, *argv):
    rc = main(["lens", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_lens_json_shape(tiny_dirs, capsys):
    rc, out, _ = _run(capsys, "--model", str(tiny_dirs["gemma3"]), "--prompt", "The Eiffel Tower is", "--top-k", "3",
                      "--json")
    assert rc == 0
    res = json.loads(out)
    n_layers, n_tok = 4, len(res["tokens"])
    assert res["layers"] == list(range(n_layers)) and res["method"] == "final-norm"
    assert len(res["top"]) == n_layers and all(len(row) == n_tok for row in res["top"])
    assert all(len(cell) == 3 and set(cell[0]) == {"token", "prob", "logit"} for row in res["top"] for cell in row)
    assert len(res["zscore"]) == n_layers and len(res["zscore"][0]) == n_tok
    t = res["target"]
    assert t["token"] is None and len(t["tokens"]) == n_tok
    assert all(len(t[k]) == n_layers and len(t[k][0]) == n_tok for k in ("prob", "rank", "zscore"))
    assert t["rank"][-1] == [1] * n_tok  # default target: the final prediction


def test_mask_sweep_json_bert(tiny_dirs, capsys):
    rc, out, _ = _run(capsys, "--model", str(tiny_dirs["bert"]), "--prompt", "the red queen ran", "--mask-sweep",
                      "--method", "dot-product", "--json")
    assert rc == 0
    res = json.loads(out)
    assert res["kind"] == "masked" and res["method"] == "dot-product"
    assert len(res["zscore"]) == 4 and len(res["zscore"][0]) == len(res["tokens"]) == len(res["normalized"][0])


def test_text_output(tiny_dirs, capsys):
    rc, out, _ = _run(capsys, "--model", str(tiny_dirs["llama"]), "--prompt", "The Red Queen")
    assert rc == 0 and out.startswith("logit lens (final-norm)") and len(out.strip().splitlines()) == 5


@pytest.mark.parametrize("family, extra, message", [
    ("bert", ["--prompt", "the red queen", "--target", "queen"], "[MASK]"),
    ("gpt2", ["--prompt", "the red queen", "--method", "full-head"], "final-norm"),
    ("gpt2", ["--prompt", ""], "empty"),
])
def test_errors_are_one_line(tiny_dirs, capsys, family, extra, message):
    rc, out, err = _run(capsys, "--model", str(tiny_dirs[family]), *extra, "--json")
    assert rc == 1
    assert message in json.loads(out)["error"]
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("error: ")


def test_model_without_lm_head(minilm, capsys):
    rc, out, err = _run(capsys, "--model", "minilm-l6", "--prompt", "hello there", "--json")
    assert rc == 1 and "no LM head" in json.loads(out)["error"]
