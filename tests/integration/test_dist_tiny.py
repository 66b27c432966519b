"""Activation distributions on tiny models: every number is recomputed from plainly captured activations."""
import json

import numpy as np
import pytest
import torch

from interp_core import UserError
from interp_core.data.tokens import special_wrapping
from interp_core.distributions import activation_distributions, corpus_sample, layer_sites, prompt_sample
from tiny_models import TEXT


def _plain(lm, sample, site, skip):
    """(L, N*D) float64: the same activations captured one sequence at a time, first token dropped if asked."""
    sites = layer_sites(lm.adapter, site)
    rows = [[] for _ in sites]
    for seq in sample.sequences:
        r = lm.run(torch.tensor([seq]), capture=sites)
        for i, s in enumerate(sites):
            rows[i].append(r.cache[s][0, skip:].double().numpy().ravel())
    return np.stack([np.concatenate(r) for r in rows])


@pytest.mark.parametrize("site", ["resid", "mlp_out", "attn_out", "mlp"])
def test_numbers_match_numpy(tiny, site):
    sample = corpus_sample(tiny, TEXT, 150, window=40)
    assert len(sample.sequences) >= 4 and sample.n_tokens <= 150
    res = activation_distributions(tiny, sample, site=site, bins=30, batch_tokens=64)
    x = _plain(tiny, sample, site, skip=1)  # (L, N*D)
    a = tiny.adapter
    L = a.n_layers + 1 if site == "resid" else a.n_layers
    D = a.d_mlp if site == "mlp" else a.d_model
    assert x.shape[0] == L and len(res.layers) == L and res.width == D
    assert res.n_tokens * D == x.shape[1]
    # histograms: shared bins, counts sum to tokens x dims, identical to numpy's on the returned edges
    assert res.counts.shape == (L, len(res.edges) - 1) and len(res.edges) - 1 <= 30
    assert (res.counts.sum(axis=1) == res.n_tokens * D).all()
    for i in range(L):
        np.testing.assert_array_equal(np.histogram(x[i], res.edges)[0], res.counts[i])
        # each layer's own grid: also every value once, and numpy's counts on those edges
        assert res.own_counts[i].sum() == res.n_tokens * D and len(res.own_edges[i]) - 1 <= 30
        np.testing.assert_array_equal(np.histogram(x[i], res.own_edges[i])[0], res.own_counts[i])
        assert res.own_edges[i][0] <= x[i].min() and res.own_edges[i][-1] > x[i].max()
    hf = res.hist_frame(shared=False)
    assert list(hf.columns) == ["layer", "label", "bin_left", "bin_right", "count"] and hf["count"].sum() == x.size
    # per-layer statistics
    st = res.stats
    np.testing.assert_allclose(st["mean"], x.mean(axis=1), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(st["std"], x.std(axis=1), rtol=1e-9)
    np.testing.assert_allclose(st["min"], x.min(axis=1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(st["max"], x.max(axis=1), rtol=0, atol=1e-12)
    c = x - x.mean(axis=1, keepdims=True)
    kurt = (c ** 4).mean(axis=1) / (c ** 2).mean(axis=1) ** 2 - 3
    np.testing.assert_allclose(st["kurtosis"], kurt, rtol=1e-8)
    # outlier dims: the dims with the largest |activation| over all measured tokens
    per_dim = np.abs(x.reshape(L, -1, D)).max(axis=1)  # (L, D)
    for i in range(L):
        want = np.argsort(-per_dim[i], kind="stable")[:5]
        assert list(st["outlier_dims"][i]) == list(want)
        np.testing.assert_allclose(st["outlier_abs_max"][i], per_dim[i][want], rtol=1e-12)
    # between layers: (L x L) covariance and R² over all tokens and dims
    assert res.cov.shape == res.r2.shape == (L, L)
    np.testing.assert_allclose(res.cov, np.cov(x, bias=True), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(res.r2, np.corrcoef(x) ** 2, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(np.diag(res.r2), 1.0)
    # the scatter subsample holds real activations at the (seq, position, dim) it claims
    sc = res.scatter
    assert len(sc) and len(sc) % L == 0
    first = sc[sc["layer"] == res.layers[0]].head(20)
    for row in first.itertuples():
        seq = sample.sequences[row.seq]
        r = tiny.run(torch.tensor([seq]), capture=[layer_sites(tiny.adapter, site)[0]])
        assert row.position >= 1
        assert r.cache[layer_sites(tiny.adapter, site)[0]][0, row.position, row.dim].item() == pytest.approx(row.value)
    assert tiny.num_hooks() == 0


def test_resid_has_embeddings_first(tiny):
    res = activation_distributions(tiny, prompt_sample(tiny, "The Red Queen ran faster"), site="resid")
    assert res.layers == tuple(range(tiny.adapter.n_layers + 1)) and res.labels[0] == "emb"
    assert activation_distributions(tiny, prompt_sample(tiny, "The Red Queen"), site="mlp_out").layers == \
        tuple(range(tiny.adapter.n_layers))


def test_exclude_first_drops_one_token_per_sequence(tiny):
    sample = corpus_sample(tiny, TEXT, 120, window=30)
    inc = activation_distributions(tiny, sample, exclude_first=False)
    exc = activation_distributions(tiny, sample, exclude_first=True)
    assert inc.n_tokens == sample.n_tokens
    assert inc.n_tokens - exc.n_tokens == len(sample.sequences) == exc.n_sequences
    assert (inc.stats["n"] - exc.stats["n"] == len(sample.sequences)).all()
    assert (inc.counts.sum(axis=1) - exc.counts.sum(axis=1) == len(sample.sequences) * tiny.adapter.d_model).all()


def test_corpus_sample_shape(tiny):
    prefix, suffix = special_wrapping(tiny.tokenizer)
    sample = corpus_sample(tiny, TEXT * 20, 300, window=50)
    assert sample.n_tokens == 300
    for seq in sample.sequences:
        assert len(seq) <= 50
        assert list(seq[:len(prefix)]) == prefix and list(seq[len(seq) - len(suffix):]) == suffix
    if tiny.adapter.family == "bert":
        assert prefix == [tiny.tokenizer.cls_token_id] and suffix == [tiny.tokenizer.sep_token_id]


def test_bad_input_is_one_clear_message(tiny):
    with pytest.raises(UserError, match="empty"):
        corpus_sample(tiny, "   ", 100)
    with pytest.raises(UserError, match="budget"):
        corpus_sample(tiny, TEXT, 1)
    with pytest.raises(UserError, match="Unknown site"):
        activation_distributions(tiny, prompt_sample(tiny, "The Red Queen"), site="logits")
    with pytest.raises(UserError, match="empty"):
        prompt_sample(tiny, "")
    one = prompt_sample(tiny, "The")
    if len(one.sequences[0]) == 1:
        with pytest.raises(UserError, match="first token"):
            activation_distributions(tiny, one, exclude_first=True)


def test_progress_is_called_and_can_cancel(tiny_models):
    lm = tiny_models["gpt2"]
    sample = corpus_sample(lm, TEXT, 200, window=20)
    seen = []
    activation_distributions(lm, sample, batch_tokens=40, progress=lambda f, m: seen.append(f))
    assert len(seen) >= 5 and seen[-1] == pytest.approx(1.0) and seen == sorted(seen)

    class Stop(BaseException):
        pass

    def stop(f, m):
        raise Stop

    with pytest.raises(Stop):
        activation_distributions(lm, sample, batch_tokens=40, progress=stop)
    assert lm.num_hooks() == 0


def test_cli_json(tiny_dirs, capsys):
    from interp_core.cli.main import main

    rc = main(["dist", "--model", str(tiny_dirs["llama"]), "--prompt", "The Red Queen ran faster and quicker",
               "--site", "mlp", "--bins", "12", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    L = 3
    assert out["layers"] == list(range(L)) and len(out["stats"]) == L and len(out["hist"]) == L
    assert len(out["cov"]) == L and len(out["r2"][0]) == L
    for h, s in zip(out["hist"], out["stats"]):
        assert sum(h["counts"]) == s["n"] * 64 and len(h["edges"]) == len(h["counts"]) + 1 <= 13
        assert set(s) >= {"layer", "n", "mean", "std", "min", "max", "kurtosis", "outlier_dims"}
    rc = main(["dist", "--model", str(tiny_dirs["llama"]), "--prompt", "The Red Queen ran faster and quicker",
               "--include-first", "--json"])
    inc = json.loads(capsys.readouterr().out)
    assert inc["stats"][0]["n"] == out["stats"][0]["n"] + 1 and len(inc["layers"]) == L + 1


def test_cli_bad_input(tiny_dirs, capsys):
    from interp_core.cli.main import main

    rc = main(["dist", "--model", str(tiny_dirs["gpt2"]), "--corpus", "/no/such/file.txt"])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("error: ") and "file.txt" in err and "Traceback" not in err
    rc = main(["dist", "--model", str(tiny_dirs["gpt2"]), "--prompt", "hi", "--bins", "1"])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 1 and last.startswith("error: ") and "bins" in last
