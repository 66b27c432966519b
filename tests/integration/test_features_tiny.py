"""SAE features on tiny models, each checked against an independent computation written here with plain PyTorch
hooks and the SAE formulas: capture, splicing (with and without the error term), feature ablation, the feature scan
against a brute-force encode of every window, the seed method, prompt features and what a feature writes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core import UserError
from interp_core.ablation import Ablation, run_ablation
from interp_core.components import neuron_writes, prompt_activations
from interp_core.data import Corpus, load_corpus, tokenize_corpus
from interp_core.engine.sites import Site
from interp_core.features import SAE, attach, save_saelens
from interp_core.features.prompt import prompt_features
from interp_core.features.splice import splice
from interp_core.neurons import scan_layer, seed_method

F = 48


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path / "cache"))


def _random_sae(lm, hook: str, arch: str = "topk", seed: int = 0, d_in: int | None = None) -> SAE:
    d = d_in or lm.adapter.d_model
    g = torch.Generator().manual_seed(seed)
    return SAE(W_enc=torch.randn(d, F, generator=g) / d ** 0.5, W_dec=torch.randn(F, d, generator=g) / 4,
               b_enc=torch.randn(F, generator=g) * 0.1, b_dec=torch.randn(d, generator=g) * 0.1, architecture=arch,
               k=5 if arch == "topk" else None,
               threshold=torch.full((F,), 0.05) if arch == "jumprelu" else None,
               apply_b_dec_to_input=True, hook_name=hook, model_name=lm.spec.name)


def _saved(tmp_path, lm, hook: str, arch: str = "topk", **kw) -> str:
    folder = tmp_path / f"sae_{arch}_{hook.replace('.', '_')}"
    save_saelens(_random_sae(lm, hook, arch, **kw), folder)
    return str(folder)


def _plain_encode(sae: SAE, x: torch.Tensor) -> torch.Tensor:
    """The SAE formulas, written out again: (x - b_dec) W_enc + b_enc, then the architecture's activation."""
    pre = (x - sae.b_dec) @ sae.W_enc + sae.b_enc
    if sae.architecture == "topk":
        v, i = pre.topk(sae.k, dim=-1)
        return torch.zeros_like(pre).scatter(-1, i, v.clamp_min(0))
    if sae.architecture == "jumprelu":
        return torch.where(pre > sae.threshold, pre, torch.zeros_like(pre))
    return pre.clamp_min(0)


def _block_output(lm, layer: int, ids, replace=None):
    """Plain forward hook on block `layer`: its output hidden state (B, T, D), optionally replaced -> (hidden, logits)."""
    got = {}

    def hook(_m, _a, out):
        h = out[0] if isinstance(out, tuple) else out
        got["h"] = h.detach().clone()
        if replace is None:
            return None
        new = replace(h)
        return (new, *out[1:]) if isinstance(out, tuple) else new

    handle = lm.adapter.blocks()[layer].register_forward_hook(hook)
    try:
        with torch.inference_mode():
            logits = lm.model(input_ids=ids).logits
    finally:
        handle.remove()
    return got["h"], logits


@pytest.mark.parametrize("fam,arch", [("gpt2", "topk"), ("gemma3", "jumprelu"), ("llama", "relu")])
def test_capture_splice_and_ablation(tiny_models, tmp_path, fam, arch):
    lm = tiny_models[fam]
    sid = _saved(tmp_path, lm, "blocks.1.hook_resid_post", arch)
    site, sae = attach(lm, sid)
    assert site == Site("sae", 2, sae=sid)
    ids = lm.encode("Alice was beginning to get very tired of sitting by her sister").input_ids
    h, clean_logits = _block_output(lm, 1, ids)
    z = lm.run(ids, capture=[site], need_logits=False).cache[site]
    want = _plain_encode(sae, h.float())
    assert (want > 0).any()
    torch.testing.assert_close(z, want, atol=1e-5, rtol=1e-5)

    kept = lm.run(ids, interventions=splice(lm, sid, keep_error=True)).logits
    torch.testing.assert_close(kept, clean_logits, atol=1e-4, rtol=1e-4)
    spliced = lm.run(ids, interventions=splice(lm, sid, keep_error=False)).logits
    _, ref = _block_output(lm, 1, ids, replace=lambda x: _plain_encode(sae, x) @ sae.W_dec + sae.b_dec)
    torch.testing.assert_close(spliced, ref, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(spliced, clean_logits, atol=1e-3)

    # ablating latent i changes the activation by exactly -z_i * W_dec[i]; the error term stays
    i = int(want[0].sum(0).argmax())
    zero_i = {site: lambda lat: lat.index_fill(-1, torch.tensor([i]), 0.0)}
    base = Site("resid", 2)
    after = lm.run(ids, capture=[base], interventions=zero_i, need_logits=False).cache[base]
    torch.testing.assert_close(after - h, -want[..., i:i + 1] * sae.W_dec[i], atol=1e-5, rtol=1e-5)
    assert lm.num_hooks() == 0


def test_ablate_feature_through_the_ablation_page_backend(tiny_models, tmp_path):
    lm = tiny_models["gpt2"]
    sid = _saved(tmp_path, lm, "blocks.0.hook_resid_post")
    site, sae = attach(lm, sid)
    prompt = "The Eiffel Tower is located in the city of"
    ids = lm.encode(prompt).input_ids
    h, _ = _block_output(lm, 0, ids)
    i = int(_plain_encode(sae, h.float())[0, -1].argmax())
    res = run_ablation(lm, prompt, Ablation("feature", site.layer, "zero", indices=(i,), sae=sid, positions="last"))
    z_last = _plain_encode(sae, h.float())[0, -1, i]
    _, ref = _block_output(lm, 0, ids, replace=lambda x: torch.cat([x[:, :-1], (x[:, -1:] - z_last * sae.W_dec[i])], 1))
    want = torch.softmax(ref[0, -1].float(), -1)
    top = res.comparisons[-1].ablated.top[0]
    assert top.prob == pytest.approx(float(want.max()), rel=1e-4)
    with pytest.raises(UserError, match="out of range"):
        run_ablation(lm, prompt, Ablation("feature", site.layer, "zero", indices=(F,), sae=sid))


def test_refuses_other_model_and_width(tiny_models, tmp_path):
    gpt2, gemma = tiny_models["gpt2"], tiny_models["gemma3"]
    sid = _saved(tmp_path, gpt2, "blocks.0.hook_resid_post")
    with pytest.raises(UserError, match="trained on .* not "):
        attach(gemma, sid)
    wrong = tmp_path / "wrong"
    save_saelens(_random_sae(gpt2, "blocks.0.hook_resid_post", d_in=gpt2.adapter.d_model + 3), wrong)
    with pytest.raises(UserError, match="expects .* inputs"):
        attach(gpt2, str(wrong))
    with pytest.raises(UserError, match="no site for"):
        bad = tmp_path / "bad"
        save_saelens(_random_sae(gpt2, "blocks.0.hook_resid_mid"), bad)
        attach(gpt2, str(bad))


@pytest.mark.parametrize("fam,hook", [("gpt2", "blocks.1.hook_resid_post"), ("gemma3", "blocks.1.hook_mlp_out")])
def test_feature_scan_equals_brute_force_encode(tiny_models, tmp_path, fam, hook):
    lm = tiny_models[fam]
    sid = _saved(tmp_path, lm, hook)
    site, sae = attach(lm, sid)
    tc = tokenize_corpus(lm, Corpus.from_text(load_corpus("builtin:looking-glass").text[:6000]))
    T, k, n = 40, 4, 1000 + 17
    res = scan_layer(lm, tc, site=f"sae:{sid}", layer=site.layer, top_k=k, seq_len=T, batch_size=6, max_tokens=n)
    base = Site.parse(f"{'resid' if 'resid' in hook else 'mlp_out'}.{site.layer}")
    rows = []
    for s in range(0, n, T):  # every window on its own, with its BOS, encoded by the formulas above
        w = tc.ids[s:min(s + T, n)]
        ids = torch.tensor([list(tc.prefix) + w.tolist()])
        x = lm.run(ids, capture=[base], need_logits=False).cache[base][0, len(tc.prefix):]
        rows.append(_plain_encode(sae, x.float()))
    acts = torch.cat(rows).numpy()  # (n, F): only the test holds every token's latents
    order = np.argsort(-acts, axis=0, kind="stable")[:k]
    assert res.n_neurons == F and res.provenance["n_tokens_scanned"] == n
    assert np.allclose(res.top_values, np.take_along_axis(acts, order, 0), rtol=1e-5, atol=1e-6)
    assert np.allclose(np.take_along_axis(acts, res.top_index, 0), res.top_values, rtol=1e-5, atol=1e-6)
    assert np.allclose(res.stats["frac_active"], (acts > 0).mean(0))
    again = scan_layer(lm, tc, site=f"sae:{sid}", layer=site.layer, top_k=k, seq_len=T, batch_size=6, max_tokens=n)
    assert again.cached
    seed = seed_method(lm, tc, site=f"sae:{sid}", layer=site.layer, dim=int(order[0].argmax()), batch_size=2,
                       seq_len=T, samples=3)
    assert len(seed.samples) == 3


def test_prompt_features_and_writes(tiny_models, tmp_path):
    lm = tiny_models["gemma3"]
    sid = _saved(tmp_path, lm, "blocks.0.hook_resid_post")
    site, sae = attach(lm, sid)
    prompt = "One thing was certain, that the white kitten had had nothing to do with it"
    pf = prompt_features(lm, prompt, sid, k=5)
    ids = lm.encode(prompt).input_ids
    h, _ = _block_output(lm, 0, ids)
    z = _plain_encode(sae, h.float())[0]  # (T, F)
    for p in (0, 3, len(pf.tokens) - 1):
        want = [int(j) for j in torch.argsort(-z[p], stable=True)[:5] if z[p, j] > 0]
        assert pf.at(p)["feature"].tolist() == want
    assert pf.overall["feature"].iloc[0] == int(z.max(0).values.argmax())
    pa = prompt_activations(lm, prompt, site=f"sae:{sid}", layer=site.layer, dim=3)
    np.testing.assert_allclose(pa.values, z[:, 3].numpy(), rtol=1e-5, atol=1e-6)
    w = neuron_writes(lm, site=f"sae:{sid}", layer=site.layer, dim=3, k=5)
    logits = lm.adapter.unembed_matrix().float() @ sae.W_dec[3]  # (V,)
    assert w.ranked("raw", "promotes")["token_id"].tolist() == torch.argsort(-logits, stable=True)[:5].tolist()
    with pytest.raises(UserError, match="layer"):
        prompt_activations(lm, prompt, site=f"sae:{sid}", layer=site.layer + 1, dim=3)


def test_feature_direction_is_the_decoder_row(tiny_models, tmp_path):
    from interp_core.features import decoder_direction
    from interp_core.features.writes import feature_direction

    lm = tiny_models["llama"]
    sid = _saved(tmp_path, lm, "blocks.1.hook_mlp_out")
    _, sae = attach(lm, sid)
    vec, label, where = feature_direction(lm, sid, 7)
    torch.testing.assert_close(vec, sae.W_dec[7])
    torch.testing.assert_close(decoder_direction(sae, 7), sae.W_dec[7])
    assert where == "mlp_out.1" and "feature 7" in label
    with pytest.raises(UserError, match="out of range"):
        feature_direction(lm, sid, F)


def test_feature_is_a_steering_source(tiny_models, tmp_path):
    from interp_core.ablation.directions import DirectionSpec, build_direction

    lm = tiny_models["gpt2"]
    sid = _saved(tmp_path, lm, "blocks.1.hook_resid_post")
    _, sae = attach(lm, sid)
    d = build_direction(lm, DirectionSpec.of("feature", sae=sid, feature=5), Site("resid", 2))
    torch.testing.assert_close(d.vector, sae.W_dec[5])
    assert d.kind == "feature" and d.site == "resid.2"
    with pytest.raises(UserError, match="needs its SAE"):
        build_direction(lm, DirectionSpec.of("feature", feature=5), Site("resid", 2))
