"""The embedded real models load offline from their PyPI packages and compute the right thing."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from interp_core import Site

ROOT = Path(__file__).resolve().parents[2]


def test_gemma_predicts_paris(gemma):
    info = gemma.info
    assert (info.family, info.n_layers, info.d_model, info.d_mlp, info.vocab_size) == ("gemma", 18, 640, 2048, 262144)
    e = gemma.encode("The Eiffel Tower is located in the city of")
    assert e.tokens[0] == "<bos>"
    r = gemma.run(e.input_ids, capture=[Site("resid", 18)])
    assert gemma.token_strings([int(r.logits[0, -1].argmax())]) == [" Paris"]
    torch.testing.assert_close(gemma.adapter.decode_resid(r.cache[Site("resid", 18)]), r.logits, rtol=0, atol=0)
    assert gemma.num_hooks() == 0


def test_minilm_runs_and_has_no_lm_head(minilm):
    info = minilm.info
    assert (info.family, info.n_layers, info.d_model, info.has_lm_head) == ("bert", 6, 384, False)
    e = minilm.encode("Alice went through the looking glass.")
    assert e.tokens[0] == "[CLS]" and e.tokens[-1] == "[SEP]"
    r = minilm.run(e.input_ids, capture=[Site("resid", 6), Site("mlp_neurons", 2)], need_logits=False)
    assert r.cache[Site("resid", 6)].shape == (1, len(e.tokens), 384)
    assert r.cache[Site("mlp_neurons", 2)].shape == (1, len(e.tokens), 1536)


def _cli(*args):
    p = subprocess.run([sys.executable, "-m", "interp_core", *args], capture_output=True, text=True, cwd=ROOT,
                       timeout=600)
    return p.returncode, p.stdout, p.stderr


@pytest.mark.slow  # Python processes of their own (torch, transformers)
def test_cli_models_and_info():
    rc, out, err = _cli("models", "--json")
    assert rc == 0, err
    names = {m["name"]: m for m in json.loads(out)["models"]}
    assert names["gemma-3-270m"]["offline"] and names["minilm-l6"]["offline"]
    assert "gpt2" in names and "bert-large-uncased" in names
    rc, out, err = _cli("info", "--model", "minilm-l6", "--json")
    assert rc == 0, err
    info = json.loads(out)
    assert info["family"] == "bert" and info["n_layers"] == 6 and info["has_lm_head"] is False


@pytest.mark.slow
def test_cli_uncached_hub_id_is_one_clear_sentence():
    rc, out, err = _cli("info", "--model", "EleutherAI/gpt-neo-125m", "--json")
    assert rc == 1
    msg = json.loads(out)["error"]
    assert "EleutherAI/gpt-neo-125m" in msg and "cache" in msg and "Traceback" not in err
