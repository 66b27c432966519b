"""Seed method and layer scan against brute force on tiny models; disk cache; cancellation; bad inputs; CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest

from interp_core import Site, UserError
from interp_core.data import Corpus, load_corpus
from interp_core.neurons import seed_method, window_activations
from interp_core.neurons import cached_scan, scan_layer
from interp_core.data import tokenize_corpus

FAMS = ("gpt2", "bert", "gemma3")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def text():
    return load_corpus("builtin:looking-glass").text[:6000]


def _hook(site, layer):
    return Site("resid", layer) if site == "resid" else Site("mlp_neurons", layer)


def _full_acts(lm, tc, starts, t, site, layer):
    """Brute force: full forward (with logits) of the windows; (B, t, M) numpy at the content positions."""
    s = _hook(site, layer)
    rows = np.stack([tc.ids[a:a + t] for a in starts])
    ids = np.concatenate([np.tile(tc.prefix, (len(starts), 1)).astype(np.int64).reshape(len(starts), -1), rows,
                          np.tile(tc.suffix, (len(starts), 1)).astype(np.int64).reshape(len(starts), -1)], axis=1)
    import torch
    out = lm.run(torch.from_numpy(ids), capture=[s]).cache[s].float().numpy()
    return out[:, len(tc.prefix):len(tc.prefix) + t]


@pytest.mark.parametrize("fam", FAMS)
def test_tokenized_once_like_the_tokenizer(tiny_models, text, fam):
    lm = tiny_models[fam]
    tc = tokenize_corpus(lm, Corpus.from_text(text))
    assert tc.ids.tolist() == lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    full = lm.tokenizer("x y", add_special_tokens=True)["input_ids"]
    assert list(tc.prefix) == full[:len(tc.prefix)] and tc.bos_prepended == bool(tc.prefix)
    assert (fam == "bert") == bool(tc.suffix)
    again = tokenize_corpus(lm, Corpus.from_text(text))  # from the disk cache
    assert np.array_equal(again.ids, tc.ids)


def test_backend_truncation_does_not_cut_the_corpus(tiny_models, text):
    """Some tokenizers ship with truncation switched on (MiniLM: 128); the corpus must still be whole."""
    lm = tiny_models["bert"]
    backend = lm.tokenizer.backend_tokenizer
    backend.enable_truncation(16)
    try:
        tc = tokenize_corpus(lm, Corpus.from_text(text))
    finally:
        backend.no_truncation()
    assert tc.n_tokens > 1000 and tc.ids.tolist() == lm.tokenizer(text, add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("fam,site,layer", [("gpt2", "mlp", 1), ("bert", "resid", 2), ("gemma3", "mlp", 0),
                                            ("gemma3", "resid", 3)])
def test_seed_method_matches_brute_force(tiny_models, text, fam, site, layer):
    lm = tiny_models[fam]
    tc = tokenize_corpus(lm, Corpus.from_text(text))
    B, T, N, dim, seed = 3, 24, 12, 5, 7
    res = seed_method(lm, tc, site=site, layer=layer, dim=dim, batch_size=B, seq_len=T, samples=N, seed=seed)
    offsets = np.random.default_rng(seed).integers(0, tc.n_tokens - T + 1, size=(N, B))
    expect = []
    for s in range(N):
        a = _full_acts(lm, tc, offsets[s], T, site, layer)[..., dim]  # (B, T)
        b, t = np.unravel_index(np.argmax(a), a.shape)
        expect.append((int(offsets[s, b] + t), float(a[b, t]), int(offsets[s, b])))
    got = res.samples
    assert got["index"].tolist() == [e[0] for e in expect]
    assert np.allclose(got["activation"], [e[1] for e in expect], rtol=1e-5, atol=1e-6)
    assert got["window_start"].tolist() == [e[2] for e in expect]
    assert (got["window_end"] - got["window_start"] == T).all()
    assert got["token_id"].tolist() == [int(tc.ids[e[0]]) for e in expect]
    # winners: counts of token ids, sorted by count, fractions sum to 1
    ids, counts = np.unique([int(tc.ids[e[0]]) for e in expect], return_counts=True)
    assert dict(zip(res.winners["token_id"], res.winners["count"])) == dict(zip(ids.tolist(), counts.tolist()))
    assert res.winners["count"].is_monotonic_decreasing and res.winners["fraction"].sum() == pytest.approx(1.0)
    d = res.to_dict()
    assert {"winners", "top", "bos_prepended", "corpus_sha256", "seq_len"} <= set(d)
    assert {"token", "activation", "context", "index", "window_start", "window_end", "bos_prepended"} <= set(d["top"][0])
    # re-running the reported windows reproduces the reported activations
    ctx = window_activations(lm, tc, res.top(4), site=site, layer=layer, dim=dim)
    for c, (_, row) in zip(ctx, res.top(4).iterrows()):
        assert c["index"] == row["index"]
        assert c["acts"][c["pos"]] == pytest.approx(row["activation"], rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("fam,site,layer", [("gpt2", "resid", 2), ("bert", "mlp", 1), ("gemma3", "mlp", 2)])
def test_scan_matches_brute_force(tiny_models, text, fam, site, layer):
    lm = tiny_models[fam]
    tc = tokenize_corpus(lm, Corpus.from_text(text))
    T, k, limit = 40, 4, 1000  # 25 full windows and no tail; then a run with a short tail window
    for max_tokens in (limit, limit + 17):
        res = scan_layer(lm, tc, site=site, layer=layer, top_k=k, seq_len=T, batch_size=6, max_tokens=max_tokens)
        n = max_tokens
        starts = list(range(0, n - n % T, T))
        acts = _full_acts(lm, tc, starts, T, site, layer).reshape(-1, res.n_neurons)  # (n_full, M)
        if n % T:
            acts = np.concatenate([acts, _full_acts(lm, tc, [n - n % T], n % T, site, layer)[0]])
        assert acts.shape[0] == n == res.provenance["n_tokens_scanned"]
        order = np.argsort(-acts, axis=0, kind="stable")[:k]  # (k, M)
        assert np.allclose(res.top_values, np.take_along_axis(acts, order, 0), rtol=1e-5, atol=1e-6)
        # indices: each reported index holds the reported value (ties may pick either position)
        assert np.allclose(np.take_along_axis(acts, res.top_index, 0), res.top_values, rtol=1e-5, atol=1e-6)
        assert np.allclose(res.stats["max"], acts.max(0), rtol=1e-5, atol=1e-6)
        assert np.allclose(res.stats["mean"], acts.mean(0), rtol=1e-4, atol=1e-5)
        assert np.allclose(res.stats["frac_active"], (acts > 0).mean(0))
        # the histogram sample holds real activation rows
        assert res.sample.shape == (min(2048, n), res.n_neurons)
        assert all(np.isclose(acts, row, rtol=1e-5, atol=1e-6).all(1).any() for row in res.sample[:5])
        top = res.neuron_top(lm, tc, 1)
        assert top["index"].tolist() == res.top_index[:, 1].tolist()
        assert (top["window_start"] <= top["index"]).all() and (top["index"] < top["window_end"]).all()
    top3 = res.neuron_top(lm, tc, 1).head(3)
    ctx = window_activations(lm, tc, top3, site=res.provenance["site"], layer=res.provenance["layer"], dim=1)
    for c, v in zip(ctx, res.top_values[:3, 1]):
        assert c["acts"][c["pos"]] == pytest.approx(float(v), rel=1e-5, abs=1e-6)


def test_scan_memory_does_not_grow_with_corpus(tiny_models, text):
    lm = tiny_models["gpt2"]
    small = scan_layer(lm, tokenize_corpus(lm, Corpus.from_text(text[:3000])), site="mlp", layer=0, top_k=3, seq_len=32)
    big = scan_layer(lm, tokenize_corpus(lm, Corpus.from_text(text * 3)), site="mlp", layer=0, top_k=3, seq_len=32)
    assert big.provenance["n_tokens_scanned"] > 5 * small.provenance["n_tokens_scanned"]
    assert big.top_values.shape == small.top_values.shape == (3, lm.adapter.d_mlp)
    assert big.sample.shape[0] <= 2048


def test_scan_disk_cache_hit_and_invalidation(tiny_models, text):
    lm = tiny_models["gpt2"]
    tc = tokenize_corpus(lm, Corpus.from_text(text))
    kw = dict(site="resid", layer=1, top_k=3, seq_len=32, batch_size=4)
    assert cached_scan(lm, tc, **kw) is None
    first = scan_layer(lm, tc, **kw)
    assert not first.cached
    calls = []
    again = scan_layer(lm, tc, **kw, progress=lambda f, m: calls.append(f))
    assert again.cached and not calls  # no forward pass at all
    assert np.array_equal(again.top_values, first.top_values) and np.array_equal(again.top_index, first.top_index)
    assert cached_scan(lm, tc, **kw) is not None
    changed = tokenize_corpus(lm, Corpus.from_text(text.replace("Alice", "Alicia", 1)))
    assert cached_scan(lm, changed, **kw) is None
    assert not scan_layer(lm, changed, **kw).cached
    assert not scan_layer(lm, tc, **{**kw, "top_k": 4}).cached  # a different parameter is a different entry


def test_scan_cancel_propagates_and_caches_nothing(tiny_models, text):
    lm = tiny_models["gpt2"]
    tc = tokenize_corpus(lm, Corpus.from_text(text))

    class Stop(BaseException):
        pass

    def progress(frac, msg):
        assert "tokens" in msg
        raise Stop

    with pytest.raises(Stop):
        scan_layer(lm, tc, site="mlp", layer=1, top_k=3, seq_len=32, progress=progress)
    assert cached_scan(lm, tc, site="mlp", layer=1, top_k=3, seq_len=32) is None
    with pytest.raises(Stop):
        seed_method(lm, tc, site="mlp", layer=1, dim=0, batch_size=2, seq_len=16, samples=5, progress=progress)
    assert lm.num_hooks() == 0


def test_bad_inputs_get_clear_messages(tiny_models, text, tmp_path):
    lm = tiny_models["gpt2"]
    tc = tokenize_corpus(lm, Corpus.from_text(text))
    with pytest.raises(UserError, match="empty"):
        Corpus.from_text("   \n ")
    short = tokenize_corpus(lm, Corpus.from_text("Alice was here."))
    with pytest.raises(UserError, match="shorter than one window"):
        seed_method(lm, short, site="mlp", layer=0, dim=0, seq_len=64, samples=1)
    with pytest.raises(UserError, match="shorter than one window"):
        scan_layer(lm, short, site="mlp", layer=0, seq_len=64)
    with pytest.raises(UserError, match="Layer 3 is out of range"):
        seed_method(lm, tc, site="mlp", layer=3, dim=0, seq_len=16, samples=1)
    with pytest.raises(UserError, match="Layer 9 is out of range"):
        scan_layer(lm, tc, site="resid", layer=9, seq_len=16)
    with pytest.raises(UserError, match="Dimension 32 is out of range"):
        seed_method(lm, tc, site="resid", layer=1, dim=32, seq_len=16, samples=1)
    with pytest.raises(UserError, match="context"):
        seed_method(lm, tc, site="resid", layer=1, dim=0, seq_len=10_000, samples=1)
    with pytest.raises(UserError, match="does not exist"):
        load_corpus(str(tmp_path / "missing.txt"))
    with pytest.raises(UserError, match="not a regular file"):
        load_corpus(str(tmp_path))
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 ".encode("latin-1") * 10)
    with pytest.raises(UserError, match="UTF-8"):
        load_corpus(str(bad))


def test_cli_neurons_and_scan_json(tiny_dirs, text, tmp_path, capsys):
    from interp_core.cli.main import main

    path = tmp_path / "book.txt"
    path.write_text(text, encoding="utf-8")
    model = str(tiny_dirs["gpt2"])
    assert main(["neurons", "--model", model, "--corpus", str(path), "--layer", "1", "--site", "mlp", "--dim", "3",
                 "--batch-size", "2", "--seq-len", "16", "--samples", "6", "--seed", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sum(w["count"] for w in out["winners"]) == 6
    assert [w["count"] for w in out["winners"]] == sorted((w["count"] for w in out["winners"]), reverse=True)
    assert {"token", "activation", "context", "index", "window_start", "window_end", "bos_prepended"} <= set(out["top"][0])
    assert out["corpus_sha256"] and out["seq_len"] == 16

    assert main(["scan", "--model", model, "--corpus", str(path), "--layer", "2", "--site", "resid", "--top-k", "3",
                 "--max-tokens", "300", "--seq-len", "32", "--json", "--full"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["neurons"]) == 32 and [n["index"] for n in out["neurons"]] == list(range(32))
    n0 = out["neurons"][0]
    assert len(n0["top"]) == 3 and n0["max"] == pytest.approx(n0["top"][0]["activation"])
    assert out["n_tokens_scanned"] == 300 and out["tokenization"]

    assert main(["scan", "--model", model, "--corpus", str(tmp_path / "nope.txt"), "--layer", "1", "--json"]) == 1
    err = capsys.readouterr()
    assert "does not exist" in json.loads(err.out)["error"] and "Traceback" not in err.err
    assert main(["neurons", "--model", model, "--corpus", str(path), "--layer", "1", "--dim", "999",
                 "--seq-len", "16", "--samples", "1"]) == 1
    assert "Dimension 999 is out of range" in capsys.readouterr().err


def test_cli_scan_prints_a_summary_unless_full_and_every_layer_has_the_one_layer_schema(tiny_dirs, text, tmp_path,
                                                                                          capsys):
    """`scan --json` prints the strongest neurons only; `--out FILE` writes the full result; `--layers` gives each
    layer in the schema of a one-layer scan (neurons with stats and top activations, contexts included)."""
    from interp_core.cli.main import main
    from interp_core.cli.scan_cmd import SUMMARY_NEURONS, SUMMARY_TOP

    path = tmp_path / "book.txt"
    path.write_text(text, encoding="utf-8")
    base = ["scan", "--model", str(tiny_dirs["gpt2"]), "--corpus", str(path), "--site", "resid", "--top-k", "7",
            "--max-tokens", "300", "--seq-len", "32", "--json"]
    assert main([*base, "--layer", "2", "--full"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert main([*base, "--layer", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert len(summary["neurons"]) == SUMMARY_NEURONS and "--full" in summary["summary"]
    assert all(len(n["top"]) == SUMMARY_TOP for n in summary["neurons"])
    strongest = sorted(one["neurons"], key=lambda n: -n["max"])[:SUMMARY_NEURONS]
    assert [n["index"] for n in summary["neurons"]] == [n["index"] for n in strongest]
    assert summary["neurons"][0]["top"] == strongest[0]["top"][:SUMMARY_TOP]

    out_file = tmp_path / "all.json"
    assert main([*base, "--layers", "0,2", "--out", str(out_file)]) == 0
    printed = json.loads(capsys.readouterr().out)
    full = json.loads(out_file.read_text(encoding="utf-8"))
    assert [r["layer"] for r in full["layers"]] == [0, 2] and "summary" not in full
    layer2 = full["layers"][1]
    assert set(layer2) == set(one) and layer2["neurons"] == one["neurons"]  # the one-layer schema, the same values
    assert all(len(r["neurons"]) == SUMMARY_NEURONS for r in printed["layers"]) and str(out_file) in printed["summary"]
    assert len(json.dumps(printed)) < len(json.dumps(full)) / 2
