"""Every canonical site has the right shape and agrees with HF's own outputs, for every family."""
import pytest
import torch

from interp_core import Site


def _prompt(lm):
    return lm.encode("The Eiffel Tower is located in the city of Paris")


def test_shapes(tiny):
    a = tiny.adapter
    e = _prompt(tiny)
    T = e.input_ids.shape[1]
    sites = [Site("embed"), *[Site("resid", i) for i in range(a.n_layers + 1)]]
    for l in range(a.n_layers):
        sites += [Site("attn_out", l), Site("attn_heads", l), Site("mlp_out", l), Site("mlp_neurons", l)]
    r = tiny.run(e.input_ids, capture=sites)
    for s in sites:
        want = {"attn_heads": (1, T, a.n_heads, a.d_head), "mlp_neurons": (1, T, a.d_mlp)}.get(s.kind, (1, T, a.d_model))
        assert tuple(r.cache[s].shape) == want, s
    assert tiny.num_hooks() == 0


def test_resid_matches_hidden_states(tiny):
    e = _prompt(tiny)
    n = tiny.adapter.n_layers
    r = tiny.run(e.input_ids, capture=[Site("resid", i) for i in range(n + 1)])
    with torch.inference_mode():
        hs = tiny.model(input_ids=e.input_ids, output_hidden_states=True).hidden_states
    assert len(hs) == n + 1
    for i in range(n):
        torch.testing.assert_close(r.cache[Site("resid", i)], hs[i], rtol=0, atol=0)
    last = r.cache[Site("resid", n)]
    norm = tiny.adapter.final_norm_module()
    # HF applies the final norm to its last hidden state in decoder families; resid.L is the raw stream.
    expected_last = norm(last) if norm is not None and not torch.equal(last, hs[n]) else last
    torch.testing.assert_close(expected_last, hs[n], rtol=1e-6, atol=1e-6)


def test_attn_and_mlp_out_sum_to_resid(tiny):
    """For pre-LN decoders the stream is additive: resid[l+1] = resid[l] + attn_out[l] + mlp_out[l]."""
    if tiny.adapter.family == "bert":
        pytest.skip("BERT is post-LN; its residual stream is not a sum")
    e = _prompt(tiny)
    r = tiny.run(e.input_ids, capture=[Site("resid", 0), Site("resid", 1), Site("attn_out", 0), Site("mlp_out", 0)])
    total = r.cache[Site("resid", 0)] + r.cache[Site("attn_out", 0)] + r.cache[Site("mlp_out", 0)]
    torch.testing.assert_close(total, r.cache[Site("resid", 1)], rtol=1e-5, atol=1e-5)


def test_last_layer_decode_equals_logits(tiny):
    e = _prompt(tiny)
    n = tiny.adapter.n_layers
    r = tiny.run(e.input_ids, capture=[Site("resid", n)])
    torch.testing.assert_close(tiny.adapter.decode_resid(r.cache[Site("resid", n)]), r.logits, rtol=0, atol=0)


def test_early_exit_matches_full_run(tiny):
    e = _prompt(tiny)
    full = tiny.run(e.input_ids, capture=[Site("mlp_neurons", 1), Site("resid", 1)])
    early = tiny.run(e.input_ids, capture=[Site("mlp_neurons", 1), Site("resid", 1)], need_logits=False)
    assert early.logits is None
    for s in full.cache:
        torch.testing.assert_close(early.cache[s], full.cache[s], rtol=0, atol=0)
    only_embed = tiny.run(e.input_ids, capture=[Site("resid", 0)], need_logits=False)
    torch.testing.assert_close(only_embed.cache[Site("resid", 0)], full.cache.get(Site("resid", 0), only_embed.cache[Site("resid", 0)]))
    assert tiny.num_hooks() == 0


def test_out_of_range_layer_is_user_error(tiny):
    from interp_core import UserError
    e = _prompt(tiny)
    with pytest.raises(UserError, match="out of range"):
        tiny.run(e.input_ids, capture=[Site("mlp_neurons", 99)])
    assert tiny.num_hooks() == 0
