"""Whole-model scans in one pass, and scans sharded over a local Ray cluster: exactly the single-process result."""
from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

from interp_core import UserError
from interp_core.data import Corpus, load_corpus, tokenize_corpus
from interp_core.neurons import cached_scan, scan_layer, scan_layers

KW = dict(top_k=4, seq_len=40, batch_size=3)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def text():
    return load_corpus("builtin:looking-glass").text[:6000]


def _same(a, b, moments_tol=1e-6):
    assert np.array_equal(a.top_values, b.top_values) and np.array_equal(a.top_index, b.top_index)
    assert np.array_equal(a.stats["max"], b.stats["max"]) and np.array_equal(a.stats["min"], b.stats["min"])
    assert np.array_equal(a.stats["frac_active"], b.stats["frac_active"])
    for c in ("mean", "std"):
        np.testing.assert_allclose(a.stats[c], b.stats[c], rtol=moments_tol, atol=moments_tol)
    assert np.array_equal(a.sample, b.sample)  # the hashed sample does not depend on the sharding
    assert a.provenance["n_tokens_scanned"] == b.provenance["n_tokens_scanned"]


@pytest.mark.parametrize("fam,site", [("gpt2", "mlp"), ("gemma3", "resid"), ("bert", "mlp")])
def test_all_layers_in_one_pass_equal_per_layer_scans(tiny_models, text, fam, site):
    lm = tiny_models[fam]
    tc = tokenize_corpus(lm, Corpus.from_text(text))
    calls = []
    many = scan_layers(lm, tc, site=site, layers="all", max_tokens=517, progress=lambda f, m: calls.append(f), **KW)
    n = lm.adapter.n_layers + (site == "resid")
    assert list(many) == list(range(n)) and calls[-1] == 1.0
    assert len(calls) == len(range(0, 517 // 40, 3)) + 1  # one pass over the batches (+ the tail), not n passes
    for layer, res in many.items():
        one = scan_layer(lm, tc, site=site, layer=layer, max_tokens=517, use_cache=False, **KW)
        _same(res, one, moments_tol=0)
        assert res.provenance["layer"] == layer
        # each layer is cached as its own scan, exactly where a single-layer scan looks
        hit = cached_scan(lm, tc, site=site, layer=layer, max_tokens=517, **KW)
        assert hit is not None and np.array_equal(hit.top_index, res.top_index)
    # a chosen list; cached layers are read, the others share one pass
    again = scan_layers(lm, tc, site=site, layers="0,2", max_tokens=517, progress=calls.append, **KW)
    assert list(again) == [0, 2] and all(r.cached for r in again.values())


def test_layer_lists_are_checked(tiny_models, text):
    lm = tiny_models["gpt2"]
    tc = tokenize_corpus(lm, Corpus.from_text(text))
    with pytest.raises(UserError, match="out of range"):
        scan_layers(lm, tc, site="mlp", layers="0,7", **KW)
    with pytest.raises(UserError, match="comma-separated"):
        scan_layers(lm, tc, site="mlp", layers="zero", **KW)
    with pytest.raises(UserError, match="No layers"):
        scan_layers(lm, tc, site="mlp", layers=[], **KW)


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    from interp_core.neurons import distributed

    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": root, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}})
    yield ray
    for key in list(distributed._POOLS):
        distributed.shutdown_pool(key)
    ray.shutdown()


@pytest.mark.parametrize("workers", [3, 2, 1])  # largest first: the pool's actors are reused by the smaller runs
def test_ray_scan_is_bit_identical(local_ray, tiny_models, text, workers):
    lm = tiny_models["gpt2"]
    tc = tokenize_corpus(lm, Corpus.from_text(text))
    # 1017 tokens: 25 windows of 40 in 9 batches of 3 (the last holds one window) + a 17-token tail = 10 batches,
    # so 3 workers get uneven shards (4, 3, 3)
    kw = dict(site="mlp", layers="all", max_tokens=1017, use_cache=False, **KW)
    single = scan_layers(lm, tc, **kw)
    msgs = []
    sharded = scan_layers(lm, tc, **kw, ray="auto", workers=workers, progress=lambda f, m: msgs.append((f, m)))
    assert list(sharded) == list(single)
    for layer in single:
        _same(single[layer], sharded[layer])
    fracs = [f for f, _ in msgs]
    assert fracs == sorted(fracs) and fracs[-1] == 1.0 and f"on {workers} Ray workers" in msgs[-1][1]


def test_ray_cancel_stops_the_cluster_and_caches_nothing(local_ray, tiny_models, text):
    from interp_core.neurons import distributed

    lm = tiny_models["gpt2"]
    tc = tokenize_corpus(lm, Corpus.from_text(text))

    class Stop(BaseException):
        pass

    def progress(frac, msg):
        raise Stop

    with pytest.raises(Stop):
        scan_layers(lm, tc, site="mlp", layers="all", max_tokens=1017, ray="auto", workers=2, progress=progress, **KW)
    assert not [k for k in distributed._POOLS if k[0] == lm.spec]  # the actors were killed mid-shard
    assert cached_scan(lm, tc, site="mlp", layer=0, max_tokens=1017, **KW) is None


def test_cli_scan_layers_over_ray(local_ray, tiny_dirs, text, tmp_path, capsys):
    from interp_core.cli.main import main

    path = tmp_path / "book.txt"
    path.write_text(text, encoding="utf-8")
    args = ["scan", "--model", str(tiny_dirs["gpt2"]), "--corpus", str(path), "--site", "resid", "--top-k", "3",
            "--max-tokens", "300", "--seq-len", "32", "--layers", "0,2", "--json"]
    assert main([*args, "--ray", "--workers", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["layer"] for r in out["layers"]] == [0, 2] and not any(r["cached"] for r in out["layers"])
    assert main(args) == 0  # the same scan without Ray is served from the cache the Ray scan wrote
    again = json.loads(capsys.readouterr().out)
    assert all(r["cached"] for r in again["layers"])
    assert [r["neurons"] for r in again["layers"]] == [r["neurons"] for r in out["layers"]]
    assert main([*args[:-1], "--workers", "2"]) == 1
    assert "--workers needs --ray" in capsys.readouterr().err


@pytest.mark.slow
def test_ray_scan_gemma_one_book_is_bit_identical(local_ray, gemma, shared_book):
    tc = tokenize_corpus(gemma, Corpus.from_text(shared_book.read_text(encoding="utf-8")))
    kw = dict(site="mlp", layers=[0, 3], top_k=10, seq_len=256, batch_size=16, use_cache=False)
    single = scan_layers(gemma, tc, **kw)
    sharded = scan_layers(gemma, tc, **kw, ray="auto", workers=2)
    for layer in single:
        _same(single[layer], sharded[layer], moments_tol=1e-5)


def _saved_sae(lm, folder, seed: int) -> str:
    """A random top-k SAE on block 1's output, saved as a SAELens folder -> its id (the folder)."""
    import torch

    from interp_core.features import SAE, save_saelens

    d, f = lm.adapter.d_model, 24
    g = torch.Generator().manual_seed(seed)
    save_saelens(SAE(W_enc=torch.randn(d, f, generator=g) / d ** 0.5, W_dec=torch.randn(f, d, generator=g) / 4,
                     b_enc=torch.randn(f, generator=g) * 0.1, b_dec=torch.randn(d, generator=g) * 0.1,
                     architecture="topk", k=4, apply_b_dec_to_input=True, hook_name="blocks.1.hook_resid_post",
                     model_name=lm.spec.name), folder)
    return str(folder)


def test_ray_scan_of_sae_features_is_bit_identical(local_ray, tiny_models, text, tmp_path):
    from interp_core.features.store import forget

    lm = tiny_models["gpt2"]
    tc = tokenize_corpus(lm, Corpus.from_text(text))
    sid = _saved_sae(lm, tmp_path / "sae", seed=0)
    kw = dict(site=f"sae:{sid}", layers="all", max_tokens=1017, use_cache=False, **KW)
    single = scan_layers(lm, tc, **kw)
    assert list(single) == [2] and single[2].n_neurons == 24  # resid_post of block 1 is resid layer 2
    assert single[2].stats["frac_active"].max() > 0  # the SAE fires: the comparison below is not of zeros
    sharded = scan_layers(lm, tc, **kw, ray="auto", workers=2)
    assert list(sharded) == [2]
    _same(single[2], sharded[2])
    # new weights under the same id (retrained in place): the workers must not scan with the SAE they memoized
    _saved_sae(lm, tmp_path / "sae", seed=1)
    forget(sid)
    single = scan_layers(lm, tc, **kw)
    sharded = scan_layers(lm, tc, **kw, ray="auto", workers=2)
    _same(single[2], sharded[2])
    # a trained SAE's name that the workers' cache does not hold (theirs is not this test's private one): one sentence
    from interp_core.features.store import trained_dir

    name = f"only-here-{uuid.uuid4().hex[:8]}"
    _saved_sae(lm, trained_dir() / name, seed=2)
    assert scan_layers(lm, tc, **{**kw, "site": f"sae:{name}"})[2].n_neurons == 24
    with pytest.raises(UserError, match=f"^On a Ray worker: No SAE named '{name}'"):
        scan_layers(lm, tc, **{**kw, "site": f"sae:{name}"}, ray="auto", workers=2)
