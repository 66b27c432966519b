"""Component views on tiny random models of every family: attention patterns equal HF's own eager
output_attentions, DLA parts add up to the logit, neuron writes equal W_U · w_out, prompt activations equal
the scan's values."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core import Site, UserError
from interp_core.components import (attention_patterns, direct_logit_attribution, neuron_writes, prompt_activations,
                                    write_vector)

PROMPT = "The Eiffel Tower is located in the city of Paris. Alice was beginning to get very tired of sitting by her"


def _hf_attentions(lm, ids):
    """HF's own output_attentions=True with eager attention (the implementation switched only for this call)."""
    with lm.lock, lm.adapter.eager_attention(), torch.inference_mode():
        return lm.model(input_ids=ids, output_attentions=True).attentions


def test_patterns_equal_hf_eager_output_attentions(tiny):
    before = tiny.model.config._attn_implementation
    ap = attention_patterns(tiny, PROMPT)
    assert tiny.model.config._attn_implementation == before  # eager only for the pattern pass
    ids = tiny.encode(PROMPT).input_ids
    ref = _hf_attentions(tiny, ids)
    assert len(ref) == tiny.info.n_layers == len(ap.layers)
    t = ids.shape[1]
    assert ap.patterns.shape == (tiny.info.n_layers, tiny.info.n_heads, t, t)
    for i in range(tiny.info.n_layers):
        np.testing.assert_allclose(ap.patterns[i], ref[i][0].float().numpy(), rtol=0, atol=1e-5)
    assert tiny.num_hooks() == 0


def test_patterns_rows_sum_to_one_and_respect_the_mask(tiny):
    ap = attention_patterns(tiny, PROMPT)
    np.testing.assert_allclose(ap.patterns.sum(-1), 1.0, atol=1e-5)
    for lay in ap.layers:
        allowed = ap.allowed(lay)
        p = ap.patterns[ap.layers.index(lay)]
        assert np.all(p[:, ~allowed] == 0), f"layer {lay} attends outside its mask"
        if tiny.info.masked_lm:
            assert ap.kinds[ap.layers.index(lay)] == "bidirectional"
            assert np.any(p[:, np.triu(np.ones_like(allowed), 1).astype(bool)] > 0)  # future keys are used
    if tiny.info.family in ("gemma", "gpt_neo"):
        assert "sliding" in ap.kinds
        w = ap.windows[ap.kinds.index("sliding")]
        assert w is not None and w < len(ap.tokens)  # the window really cuts the prompt


def test_grouped_query_attention_is_labelled(tiny_models):
    lm = tiny_models["llama"]
    ap = attention_patterns(lm, PROMPT, layers=[1])
    assert ap.n_kv_heads == 2 and ap.n_heads == 4
    assert [ap.kv_group(h) for h in range(4)] == [0, 0, 1, 1]
    assert ap.to_dict(layer=1, head=3)["layers"][0]["heads"][0]["kv_group"] == 1


def test_patterns_cannot_be_intervened_on(tiny_models):
    lm = tiny_models["gpt2"]
    with pytest.raises(UserError, match="captured but not intervened"):
        lm.run(lm.encode(PROMPT).input_ids, interventions={Site("attn_pattern", 0): lambda x: x})
    assert lm.num_hooks() == 0


def test_pattern_capture_leaves_other_sites_unchanged(tiny_models):
    """Eager attention for the pattern pass gives the same logits as the model's default implementation."""
    lm = tiny_models["llama"]
    ids = lm.encode(PROMPT).input_ids
    plain = lm.run(ids).logits
    with_patterns = lm.run(ids, capture=[Site("attn_pattern", 0)]).logits
    torch.testing.assert_close(with_patterns, plain, rtol=0, atol=1e-5)


def _target(lm) -> str:
    return lm.token_strings([lm.encode("the").input_ids[0, -1].item()])[0]


DECODERS = ("gpt2", "gpt_neo", "gemma3", "llama")


@pytest.mark.parametrize("family", DECODERS)
@pytest.mark.parametrize("position", [-1, 3])
def test_dla_parts_add_up_to_the_logit(tiny_models, family, position):
    lm = tiny_models[family]
    tgt = _target(lm)
    foil = lm.token_strings([60])[0]
    for f in (None, foil):
        d = direct_logit_attribution(lm, PROMPT, tgt, foil=f, position=position)
        logits = lm.run(lm.encode(PROMPT).input_ids).logits[0, position]
        want = float(logits[lm.token_id(tgt)]) - (float(logits[lm.token_id(f)]) if f else 0.0)
        assert d.actual == pytest.approx(want, abs=1e-5)
        assert d.total == pytest.approx(d.actual, abs=1e-4)
        np.testing.assert_allclose(d.heads.sum(1), d.attn, atol=1e-4)  # no output bias in these tiny models
        frame = d.frame()
        assert frame["value"][frame["kind"] != "head"].sum() == pytest.approx(d.actual, abs=1e-4)
    assert lm.num_hooks() == 0


@pytest.mark.parametrize("family", DECODERS)
def test_zero_ablated_mlp_has_no_direct_term(tiny_models, family):
    lm = tiny_models[family]
    tgt = _target(lm)
    clean = direct_logit_attribution(lm, PROMPT, tgt)
    ablated = direct_logit_attribution(lm, PROMPT, tgt, interventions={Site("mlp_out", 1): torch.zeros_like})
    assert clean.mlp[1] != 0
    assert ablated.mlp[1] == 0
    assert ablated.total == pytest.approx(ablated.actual, abs=1e-4)


def test_dla_refuses_encoders_and_bad_input(tiny_models):
    with pytest.raises(UserError, match="not available for this model"):
        direct_logit_attribution(tiny_models["bert"], "the cat [MASK].", "the")
    lm = tiny_models["gpt2"]
    with pytest.raises(UserError, match="out of range"):
        direct_logit_attribution(lm, PROMPT, _target(lm), position=999)
    with pytest.raises(UserError, match="not a single token"):
        direct_logit_attribution(lm, PROMPT, " Eiffelization")


def test_dla_without_target_uses_the_top_prediction(tiny_models):
    lm = tiny_models["llama"]
    d = direct_logit_attribution(lm, PROMPT, None)
    top = int(lm.run(lm.encode(PROMPT).input_ids).logits[0, -1].argmax())
    assert lm.token_id(d.target) == top


def _w_out(lm, layer: int, n: int) -> torch.Tensor:
    """The down projection's column for neuron n, read straight from the weight (Conv1D stores it transposed)."""
    down = lm.adapter.mlp_down_proj(layer)
    w = down.weight.detach().float()
    return w[n] if type(down).__name__ == "Conv1D" else w[:, n]


@pytest.mark.parametrize("family", DECODERS)
def test_writes_equal_unembedding_times_w_out(tiny_models, family):
    lm = tiny_models[family]
    n = 5
    w_u = lm.adapter.unembed_matrix().detach().float()
    expect = (w_u @ _w_out(lm, 1, n)).numpy()  # (V,)
    res = neuron_writes(lm, site="mlp", layer=1, dim=n, k=10)
    raw_up = res.ranked("raw", "promotes")
    np.testing.assert_array_equal(raw_up["token_id"], np.argsort(-expect, kind="stable")[:10])
    np.testing.assert_allclose(raw_up["value"], np.sort(expect)[::-1][:10], rtol=1e-5, atol=1e-6)
    raw_down = res.ranked("raw", "suppresses")
    np.testing.assert_allclose(raw_down["value"], np.sort(expect)[:10], rtol=1e-5, atol=1e-6)
    # through the norms: the final norm's per-dimension weight (and Gemma's MLP post-norm weight)
    raw, normed = write_vector(lm, "mlp", 1, n)
    final = lm.adapter.final_norm_module()
    gain = final.weight.detach().float() + (1.0 if family == "gemma3" else 0.0)
    if family == "gemma3":
        gain = gain * (lm.adapter.mlp_post_norm(1).weight.detach().float() + 1.0)
    torch.testing.assert_close(normed, _w_out(lm, 1, n) * gain, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res.ranked("normed", "promotes")["value"],
                               np.sort((w_u @ normed).numpy())[::-1][:10], rtol=1e-5, atol=1e-6)


def test_writes_of_a_residual_dimension_is_a_unit_vector(tiny_models):
    lm = tiny_models["gpt2"]
    res = neuron_writes(lm, site="resid", layer=2, dim=7, k=5)
    col = lm.adapter.unembed_matrix().detach().float()[:, 7].numpy()
    np.testing.assert_allclose(res.ranked("raw", "promotes")["value"], np.sort(col)[::-1][:5], rtol=1e-6)
    assert res.vector_norm == pytest.approx(1.0)


def test_writes_refuse_encoders(tiny_models):
    with pytest.raises(UserError, match="not available"):
        neuron_writes(tiny_models["bert"], site="mlp", layer=0, dim=0)


def test_prompt_activations_equal_scan_values(tiny):
    from interp_core.data import Corpus, tokenize_corpus
    from interp_core.neurons import scan_layer

    corpus = Corpus.from_text(PROMPT * 6, "pasted", "pasted")
    tc = tokenize_corpus(tiny, corpus, use_cache=False)
    seq = 24
    scan = scan_layer(tiny, tc, site="mlp", layer=1, top_k=3, seq_len=seq, batch_size=4, use_cache=False)
    n = int(np.argmax(scan.stats["max"].to_numpy()))
    idx = int(scan.top_index[0, n])
    s, e = scan.window_of(idx)
    window = tc.ids[s:e].tolist()
    text = tiny.tokenizer.decode(window)
    pa = prompt_activations(tiny, text, site="mlp", layer=1, dim=n)
    enc_ids = tiny.encode(text).input_ids[0].tolist()
    p = len(tc.prefix_tokens)
    if enc_ids[p:p + len(window)] != window:
        pytest.skip("this tokenizer does not round-trip the window's text")
    at = p + idx - s
    assert pa.values[at] == pytest.approx(float(scan.top_values[0, n]), abs=1e-5)
    assert pa.top_values[at, 0] >= pa.values[at] and list(pa.top_values[at]) == sorted(pa.top_values[at], reverse=True)


def test_prompt_activations_budget(tiny_models, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_MAX_ATTENTION_TOKENS", "4")
    with pytest.raises(UserError, match="LOOKING_GLASS_MAX_ATTENTION_TOKENS"):
        prompt_activations(tiny_models["gpt2"], PROMPT, site="mlp", layer=0, dim=0)
    with pytest.raises(UserError, match="LOOKING_GLASS_MAX_ATTENTION_TOKENS"):
        attention_patterns(tiny_models["gpt2"], PROMPT)


def test_parameter_breakdown_counts_every_parameter_once(tiny):
    from interp_core.components import PARAMETER_COLUMNS, parameter_breakdown

    df = parameter_breakdown(tiny)
    assert list(df.columns) == PARAMETER_COLUMNS
    assert df["params"].sum() == sum(p.numel() for p in tiny.model.parameters())  # tied weights once
    per_block = df[df["layer"].between(0, tiny.info.n_layers - 1)]
    assert set(per_block["part"]) == {"attention", "MLP", "norms"}
    assert (per_block.query("part == 'attention'")["params"] > 0).all()
    assert (per_block.query("part == 'MLP'")["params"] > 0).all()
    mlp = per_block.query("part == 'MLP'")["params"].iloc[0]
    assert mlp >= 2 * tiny.info.d_model * tiny.info.d_mlp  # at least the up and down projections
