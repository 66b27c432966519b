"""Information flow on tiny random models of every family: every node's parts add up to its whole (vectors and
shares), one layer's per-head per-source split equals a reference built here with plain forward hooks (Gemma 3:
grouped-query attention, sandwich norm, sliding window), and the graph keeps exactly the edges over the threshold."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core import UserError
from interp_core.flow import flow_graph, information_flow, neuron_contributions
from interp_core.flow.decompose import (
    attention_chunks,
    capture,
    mid_state,
    neuron_parts,
)

PROMPT = "The Eiffel Tower is located in the city of Paris. Alice was beginning to get very tired of sitting by her"


def _rel(got: torch.Tensor, want: torch.Tensor) -> float:
    return float(((got - want).norm(dim=-1) / want.norm(dim=-1).clamp(min=1e-12)).max())


def test_every_node_adds_up_as_vectors(tiny):
    ids = tiny.encode(PROMPT).input_ids
    cap = capture(tiny, ids)
    a = tiny.adapter
    for lay in range(a.n_layers):
        for ch in attention_chunks(tiny, cap, lay, chunk=5):  # several chunks, the last one short
            assert ch.parts.shape[1:3] == (ch.parts.shape[1], a.n_heads)
            assert _rel(ch.parts.sum((1, 2)) + ch.residual, ch.whole) < 1e-4
            assert torch.all(ch.parts[ch.weights == 0] == 0)  # a masked source adds nothing
        mid = mid_state(tiny, lay, cap.resid[lay], cap.attn_out[lay])
        post_mlp = a.post_add_norms(lay)[1]
        whole = mid + cap.mlp_out[lay]
        with torch.inference_mode():
            want = post_mlp(whole) if post_mlp is not None else whole
        assert _rel(want, cap.resid[lay + 1]) < 1e-4  # the MLP block's whole is (the sum before) the next state
        npp = neuron_parts(tiny, ids, lay, 4)
        assert _rel((npp.parts.sum(0) + npp.const + npp.residual)[None], npp.whole[None]) < 1e-4
        assert _rel(npp.whole[None], whole[4][None]) < 1e-4


def test_every_node_shares_sum_to_one(tiny):
    c = information_flow(tiny, PROMPT, chunk=6)
    t = len(c.tokens)
    assert c.attn.shape == (tiny.info.n_layers, t, t, tiny.info.n_heads)
    np.testing.assert_allclose(c.attn.sum((2, 3)) + c.attn_resid, 1.0, atol=1e-5)
    np.testing.assert_allclose(c.mlp + c.mlp_resid, 1.0, atol=1e-6)
    assert np.all(c.attn >= 0) and np.all(c.attn_resid > 0)
    if not tiny.info.masked_lm:  # causal: no destination reads a later source
        assert np.all(c.attn[:, np.triu_indices(t, 1)[0], np.triu_indices(t, 1)[1]] == 0)
    whole = information_flow(tiny, PROMPT)  # one chunk: the same numbers
    np.testing.assert_allclose(whole.attn, c.attn, atol=1e-6)
    nc = neuron_contributions(tiny, PROMPT, 1, -1)
    assert nc.shares.shape == (tiny.info.d_mlp,)
    assert abs(nc.shares.sum() + nc.residual + nc.bias - 1.0) < 1e-5
    assert nc.top(3)["share"].is_monotonic_decreasing


def test_sliding_window_layers_read_only_their_window(tiny_models):
    lm = tiny_models["gemma3"]
    c = information_flow(lm, PROMPT)
    t = len(c.tokens)
    assert t > 16 and "sliding" in c.kinds
    lay = c.kinds.index("sliding")
    d = t - 1
    assert np.all(c.attn[lay, d, : d - 16 + 1] == 0) and np.all(c.attn[lay, d, d - 15:].sum(-1) > 0)
    neo = information_flow(tiny_models["gpt_neo"], PROMPT)  # local and global layers side by side
    glob, local = neo.kinds.index("global"), neo.kinds.index("sliding")
    d = len(neo.tokens) - 1
    assert np.all(neo.attn[glob, d, :d + 1].sum(-1) > 0) and np.all(neo.attn[local, d, :d - 16 + 1] == 0)


def _l1_shares(parts: torch.Tensor, residual: torch.Tensor, whole: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The method's definition written out: parts (S, H, D), residual (D,), whole (D,)."""
    prox = (whole.abs().sum() - (whole - parts).abs().sum(-1)).clamp(min=1e-5)
    r = (whole.abs().sum() - (whole - residual).abs().sum()).clamp(min=1e-5)
    return prox / (prox.sum() + r), r / (prox.sum() + r)


def test_one_layer_equals_a_plain_hook_reference_gqa_and_sandwich_norm(tiny_models):
    lm = tiny_models["gemma3"]
    model, layer = lm.model, 1
    cfg = model.config
    n_h, n_kv, dh = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    assert n_kv < n_h  # grouped-query attention
    attn = model.model.layers[layer].self_attn
    post = model.model.layers[layer].post_attention_layernorm
    got: dict[str, torch.Tensor] = {}

    def keep_values(module, inputs, output):
        got["v"] = output.detach()

    def keep_post(module, inputs, output):
        got["o"], got["added"] = inputs[0].detach(), output.detach()

    handles = [attn.v_proj.register_forward_hook(keep_values), post.register_forward_hook(keep_post)]
    ids = lm.encode(PROMPT).input_ids
    before = model.config._attn_implementation
    try:
        model.set_attn_implementation("eager")
        with torch.no_grad():
            out = model(input_ids=ids, output_attentions=True, output_hidden_states=True)
    finally:
        model.set_attn_implementation(before)
        for h in handles:
            h.remove()
    t = ids.shape[1]
    pattern = out.attentions[layer][0].float()  # (H, T, T)
    resid = out.hidden_states[layer][0].float()  # (T, D)
    v = got["v"][0].float().view(t, n_kv, dh)
    w_o = attn.o_proj.weight.float()  # (D, H*Dh)
    o, added = got["o"][0].float(), got["added"][0].float()
    gain = 1.0 + post.weight.float()  # Gemma's RMSNorm multiplies by (1 + w)
    scale = torch.rsqrt(o.pow(2).mean(-1) + post.eps)  # (T,) frozen 1/rms of the whole block output
    ref = torch.zeros(t, t, n_h, w_o.shape[0])
    for h in range(n_h):
        vo = v[:, h // (n_h // n_kv)] @ w_o[:, h * dh:(h + 1) * dh].T  # (T_src, D)
        ref[:, :, h] = pattern[h][:, :, None] * vo[None]
    ref = ref * scale[:, None, None, None] * gain
    assert _rel(ref.sum((1, 2)), added) < 1e-4
    cap = capture(lm, ids)
    c = information_flow(lm, PROMPT)
    for ch in attention_chunks(lm, cap, layer, chunk=7):
        s = ch.parts.shape[1]
        torch.testing.assert_close(ch.parts, ref[ch.d0:ch.d1, :s], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(ch.whole, resid[ch.d0:ch.d1] + added[ch.d0:ch.d1], rtol=1e-4, atol=1e-5)
    for d in (0, 5, t - 1):
        keep = pattern[:, d, :].T > 0  # (S, H) the parts the mask allows
        want, want_r = _l1_shares(ref[d][keep], resid[d], resid[d] + added[d])
        np.testing.assert_allclose(c.attn[layer, d][keep.numpy()], want.numpy(), rtol=1e-4, atol=1e-6)
        assert abs(c.attn_resid[layer, d] - float(want_r)) < 1e-5


def test_bad_inputs_are_one_sentence(tiny_models):
    lm = tiny_models["gpt2"]
    c = information_flow(lm, "the cat sat")
    with pytest.raises(UserError, match="out of range"):
        flow_graph(c, token=99)
    with pytest.raises(UserError, match="threshold"):
        flow_graph(c, threshold=1.5)
    with pytest.raises(UserError, match="out of range"):
        neuron_contributions(lm, "the cat sat", 7, 0)
    assert lm.num_hooks() == 0


def test_node_and_head_tokens(tiny_models):
    from interp_core.components import direct_logit_attribution
    from interp_core.flow import head_tokens, node_tokens

    lm = tiny_models["gemma3"]
    n = lm.info.n_layers
    top = node_tokens(lm, PROMPT, "resid", n, -1, k=3)
    final = lm.run(lm.encode(PROMPT).input_ids).logits[0, -1].float()
    assert top.ranked("top")["token_id"].tolist() == final.topk(3).indices.tolist()  # the model's own prediction
    mid = node_tokens(lm, PROMPT, "mid", 1, 4, k=5)
    assert set(mid.table["list"]) == {"top", "promotes", "suppresses"}
    assert mid.ranked("promotes")["value"].iloc[0] >= mid.ranked("suppresses")["value"].iloc[0]
    assert list(node_tokens(lm, PROMPT, "resid", 0, 0).table["list"].unique()) == ["top"]
    ht = head_tokens(lm, PROMPT, 1, 2, -1, k=5)
    tid = int(ht.ranked("promotes")["token_id"].iloc[0])
    dla = direct_logit_attribution(lm, PROMPT, lm.token_strings([tid])[0])
    assert abs(dla.heads[1, 2] - ht.ranked("promotes")["value"].iloc[0]) < 1e-4 * max(1.0, abs(dla.heads[1, 2]))
    with pytest.raises(UserError, match="final norm"):
        head_tokens(tiny_models["bert"], "the cat sat", 0, 0, 0)
