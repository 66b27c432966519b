"""The SAE commands end to end on a tiny model: `sae train` (held-out report checked against an independent encode),
`sae list|load`, `scan --site sae`, `neurons --site sae`, `features --prompt`, `ablate --site feature`, and the
one-sentence errors (offline hub, unknown SAE)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp_core.cli.main import main


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path / "cache"))


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, (json.loads(out) if out.strip().startswith("{") else out), err


def test_train_then_explore_a_feature(tiny_dirs, tiny_models, capsys):
    model = str(tiny_dirs["gpt2"])
    rc, rep, err = _run(capsys, "sae", "train", "--model", model, "--site", "resid_post", "--layer", "1",
                        "--latents", "32", "--k", "4", "--max-tokens", "1600", "--seq-len", "32", "--epochs", "2",
                        "--name", "tiny-sae", "--json")
    assert rc == 0, err
    assert "estimate" in err and "%" in err  # the estimate, then a progress bar
    for key in ("explained_variance", "l0", "dead_fraction", "clean_loss", "spliced_loss", "mean_ablated_loss"):
        assert np.isfinite(rep[key]), key
    assert 0 < rep["l0"] <= 4 and 0 <= rep["dead_fraction"] <= 1
    # the reported explained variance, recomputed here on the held-out windows with the saved weights
    from safetensors.torch import load_file

    from interp_core.data import load_corpus, tokenize_corpus
    from interp_core.engine.sites import Site

    w = load_file(f"{rep['path']}/sae_weights.safetensors")
    lm = tiny_models["gpt2"]
    tc = tokenize_corpus(lm, load_corpus("builtin:looking-glass"))
    n_win = 1600 // 32
    held = range(n_win - int(np.ceil(n_win * 0.1)), n_win)
    xs = []
    for s in held:
        ids = torch.tensor([list(tc.prefix) + tc.ids[s * 32:(s + 1) * 32].tolist()])
        xs.append(lm.run(ids, capture=[Site("resid", 2)], need_logits=False).cache[Site("resid", 2)][0, len(tc.prefix):])
    x = torch.cat(xs).float()
    pre = (x - w["b_dec"]) @ w["W_enc"] + w["b_enc"]
    v, i = pre.topk(4, dim=-1)
    rec = torch.zeros_like(pre).scatter(-1, i, v.clamp_min(0)) @ w["W_dec"] + w["b_dec"]
    ev = 1 - float((x - rec).pow(2).sum() / (x - x.mean(0)).pow(2).sum())
    assert rep["explained_variance"] == pytest.approx(ev, rel=1e-3, abs=1e-4)

    rc, listed, _ = _run(capsys, "sae", "list", "--json")
    assert [s["id"] for s in listed["saes"]] == ["tiny-sae"] and listed["saes"][0]["hook_name"] == "blocks.1.hook_resid_post"
    rc, loaded, _ = _run(capsys, "sae", "load", "--sae", "tiny-sae", "--model", model, "--json")
    assert rc == 0 and loaded["site"] == "sae.2:tiny-sae" and loaded["d_sae"] == 32

    rc, scan, err = _run(capsys, "scan", "--model", model, "--site", "sae", "--sae", "tiny-sae", "--top-k", "3",
                         "--max-tokens", "600", "--seq-len", "32", "--full", "--json")
    assert rc == 0, err
    assert scan["layer"] == 2 and len(scan["neurons"]) == 32
    best = max(scan["neurons"], key=lambda n: n["max"])
    assert len(best["top"]) == 3 and best["top"][0]["activation"] == pytest.approx(best["max"])

    prompt = "Alice was beginning to get very tired"
    rc, one, err = _run(capsys, "neurons", "--model", model, "--site", "sae", "--sae", "tiny-sae", "--dim",
                        str(best["index"]), "--prompt", prompt, "--writes", "--json")
    assert rc == 0, err
    assert len(one["prompt"]["activations"]) == len(one["prompt"]["tokens"]) and one["writes"]["raw_promotes"]

    rc, feats, err = _run(capsys, "features", "--model", model, "--prompt", prompt, "--sae", "tiny-sae", "--json")
    assert rc == 0, err
    assert len(feats["per_token"]) == len(one["prompt"]["tokens"])
    assert all(len(t["features"]) <= 4 for t in feats["per_token"])  # a TopK SAE: at most k active per token
    for t, a in zip(feats["per_token"], one["prompt"]["activations"]):
        assert (best["index"] in t["features"]) == (a > 0)

    rc, abl, err = _run(capsys, "ablate", "--model", model, "--prompt", prompt, "--site", "feature", "--sae",
                        "tiny-sae", "--index", str(feats["overall"][0]["feature"]), "--json")
    assert rc == 0, err
    assert abl["kl"] > 0

    rc, steer, err = _run(capsys, "steer", "--model", model, "--prompt", prompt, "--layer", "2", "--feature",
                          f"tiny-sae:{best['index']}", "--alpha", "8", "--json")
    assert rc == 0, err
    assert "tiny-sae" in json.dumps(steer)


def test_errors_are_one_sentence(tiny_dirs, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = str(tiny_dirs["gpt2"])
    rc, _, err = _run(capsys, "sae", "load", "--sae", "gemma-scope-2-270m-pt-res/layer_12_width_16k_l0_medium")
    assert rc == 1 and "hf download google/gemma-scope-2-270m-pt" in err and err.count("\n") == 1
    rc, _, err = _run(capsys, "features", "--model", model, "--prompt", "hi", "--sae", "nothing-here")
    assert rc == 1 and "No SAE named 'nothing-here'" in err
    rc, _, err = _run(capsys, "scan", "--model", model, "--site", "sae", "--layer", "1")
    assert rc == 1 and "--site sae needs --sae" in err
