"""A model split by an Accelerate device map (half its blocks offloaded to disk) gives the same numbers as on one
device: captures, interventions, logit lens, ablation and a whole-layer scan."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp_core import Site, UserError, load_model, make_spec
from interp_core.ablation import run_ablation
from interp_core.ablation.interventions import Ablation
from interp_core.data import Corpus, load_corpus, tokenize_corpus
from interp_core.engine.placement import parse_device_map
from interp_core.lens import compute_lens
from interp_core.neurons import scan_layers

PROMPT = "The Eiffel Tower is located in the city of"


def _half_on_disk(lm) -> dict:
    """Every top-level part on the CPU, the second half of the blocks offloaded to disk."""
    names = {id(m): n for n, m in lm.model.named_modules()}
    blocks = [names[id(b)] for b in lm.adapter.blocks()]
    dmap = {}
    for n, _ in [*lm.model.named_parameters(remove_duplicate=False), *lm.model.named_buffers()]:
        dmap[next((b for b in blocks if n.startswith(b + ".")), n.rsplit(".", 1)[0])] = "cpu"
    for b in blocks[len(blocks) // 2:]:
        dmap[b] = "disk"
    return dmap


@pytest.fixture(scope="module", params=["gemma3", "gpt2"])
def pair(request, tiny_dirs, tmp_path_factory):
    import os

    os.environ["LOOKING_GLASS_CACHE"] = str(tmp_path_factory.mktemp("dm_cache"))
    folder = str(tiny_dirs[request.param])
    one = load_model(make_spec(folder, device="cpu"))
    dmap = _half_on_disk(one)
    split = load_model(make_spec(folder, device="cpu", device_map=json.dumps(dmap)))
    yield one, split, dmap
    os.environ.pop("LOOKING_GLASS_CACHE", None)


def test_really_offloaded_and_keyed(pair):
    one, split, dmap = pair
    assert "disk" in dmap.values() and split.spec != one.spec and split.spec.device_map
    last = split.adapter.blocks()[-1]
    assert all(p.device.type == "meta" for p in last.parameters())  # weights live on disk until the forward
    assert split.device == torch.device("cpu")


def test_captures_and_interventions_match(pair):
    one, split, _ = pair
    n = one.adapter.n_layers
    sites = [Site("resid", i) for i in range(n + 1)] + [Site("mlp_neurons", n - 1), Site("attn_out", n - 1)]
    ids = one.encode(PROMPT).input_ids
    a, b = one.run(ids, capture=sites), split.run(ids, capture=sites)
    for s in sites:
        torch.testing.assert_close(a.cache[s], b.cache[s], rtol=0, atol=1e-5)
    torch.testing.assert_close(a.logits, b.logits, rtol=0, atol=1e-5)
    zero = {Site("mlp_out", n - 1): torch.zeros_like}  # an intervention inside an offloaded block
    za, zb = one.run(ids, interventions=zero), split.run(ids, interventions=zero)
    torch.testing.assert_close(za.logits, zb.logits, rtol=0, atol=1e-5)
    assert not torch.allclose(za.logits, a.logits)
    assert split.num_hooks() == 0


def test_lens_and_ablation_match(pair):
    one, split, _ = pair
    fa, fb = compute_lens(one, PROMPT, top_k=5).frame(), compute_lens(split, PROMPT, top_k=5).frame()
    assert fa["top1_token"].tolist() == fb["top1_token"].tolist()
    num = ["top1_prob", "top1_logit", "top1_zscore", "target_prob", "target_rank", "target_zscore"]
    np.testing.assert_allclose(fa[num].to_numpy(float), fb[num].to_numpy(float), rtol=0, atol=1e-5)
    ab = Ablation("mlp_out", one.adapter.n_layers - 1, "zero")
    ra, rb = run_ablation(one, PROMPT, ab, top_k=5), run_ablation(split, PROMPT, ab, top_k=5)
    assert len(ra.comparisons) == len(rb.comparisons) >= 1
    for ca, cb in zip(ra.comparisons, rb.comparisons):
        assert ca.kl == pytest.approx(cb.kl, abs=1e-5) and ca.kl > 0
        fa, fb = ca.frame(), cb.frame()
        assert fa["ablated_token"].tolist() == fb["ablated_token"].tolist()
        np.testing.assert_allclose(fa["ablated_prob"].to_numpy(float), fb["ablated_prob"].to_numpy(float), atol=1e-5)


def test_dla_and_patching_match(pair):
    from interp_core.components.dla import direct_logit_attribution
    from interp_core.patching.attribution import attribute

    one, split, _ = pair
    prompt = "Alice was beginning to get very tired"
    a, b = direct_logit_attribution(one, prompt, None), direct_logit_attribution(split, prompt, None)
    for f in ("attn", "mlp", "heads"):
        np.testing.assert_allclose(getattr(a, f), getattr(b, f), rtol=0, atol=1e-5)
    assert a.actual == pytest.approx(b.actual, abs=1e-5)
    kw = dict(clean=prompt, corrupt="Alice was beginning to get very tirxd", target=" of", foil=" the", align="end")
    try:
        pa = attribute(one, **kw)
    except UserError:  # this family's tiny tokenizer splits the answers: nothing to compare
        return
    pb = attribute(split, **kw)
    for f in ("resid", "attn_out", "mlp_out", "heads", "neurons"):
        np.testing.assert_allclose(getattr(pa, f), getattr(pb, f), rtol=0, atol=1e-5)


def test_scan_matches(pair):
    one, split, _ = pair
    text = load_corpus("builtin:looking-glass").text[:3000]
    kw = dict(site="mlp", layers="all", top_k=3, seq_len=32, batch_size=4, max_tokens=400, use_cache=False)
    a = scan_layers(one, tokenize_corpus(one, Corpus.from_text(text)), **kw)
    b = scan_layers(split, tokenize_corpus(split, Corpus.from_text(text)), **kw)
    for layer in a:
        np.testing.assert_allclose(a[layer].top_values, b[layer].top_values, rtol=0, atol=1e-5)
        np.testing.assert_allclose(a[layer].stats.to_numpy(float), b[layer].stats.to_numpy(float), atol=1e-5)


def test_bad_device_maps_are_one_sentence():
    with pytest.raises(UserError, match="device map"):
        parse_device_map("everywhere")
    with pytest.raises(UserError, match="not a device"):
        parse_device_map({"model.layers.0": "moon"})
    assert parse_device_map("AUTO") == "auto" and parse_device_map(None) is None
    assert parse_device_map({"b": "cpu", "a": "disk"}) == parse_device_map('{"a": "disk", "b": "cpu"}')
