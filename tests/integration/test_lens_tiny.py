"""Logit lens on tiny random models of every family: exactness, methods, sweeps, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core import UserError
from interp_core.lens.logit_lens import compute_lens, hidden_states, lens_head
from interp_core.lens.trajectory import trajectory
from interp_core.lens import lens_sweep, masked_sweep, next_token_sweep

DECODER_PROMPT = "The Eiffel Tower is located in the city of"
BERT_PROMPT = "the eiffel tower is located in the city of [MASK]."


def _prompt(lm):
    return BERT_PROMPT if lm.info.masked_lm else DECODER_PROMPT


def _model_logits(lm, prompt):
    with torch.inference_mode():
        return lm.model(input_ids=lm.encode(prompt).input_ids).logits[0].float()  # (T, V)


def test_last_layer_equals_model_logits(tiny):
    prompt = _prompt(tiny)
    res = compute_lens(tiny, prompt, "auto", top_k=5)
    logits = _model_logits(tiny, prompt)
    vals, ids = logits.topk(5, dim=-1)
    assert res.top_ids.shape == (tiny.info.n_layers + 1, logits.shape[0], 5)
    np.testing.assert_array_equal(res.top_ids[-1], ids.numpy())
    np.testing.assert_allclose(res.top_logits[-1], vals.numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(res.top_probs[-1], logits.softmax(-1).topk(5, -1).values.numpy(), atol=1e-6)
    z = (logits - logits.mean(-1, keepdim=True)) / logits.std(-1, unbiased=False, keepdim=True)
    np.testing.assert_allclose(res.zscore[-1], z.max(-1).values.numpy(), atol=1e-4)
    assert tiny.num_hooks() == 0


def test_every_layer_matches_a_direct_decode(tiny):
    """Streamed stats (chunked over the vocabulary) equal the full logits of every layer."""
    prompt = _prompt(tiny)
    res = compute_lens(tiny, prompt, "auto", top_k=3)
    head = lens_head(tiny, "auto")
    hid = hidden_states(tiny, tiny.encode(prompt).input_ids)[:, 0]  # (S, T, D)
    with torch.inference_mode():
        for s in range(hid.shape[0]):
            full = head.logits(hid[s])  # (T, V)
            np.testing.assert_array_equal(res.top_ids[s], full.topk(3, -1).indices.numpy())
            t = torch.as_tensor(res.target.token_ids)
            tl = full.gather(1, t[:, None])[:, 0]
            rank = (full > tl[:, None]).sum(-1) + 1
            np.testing.assert_array_equal(res.target.rank[s], rank.numpy())
            np.testing.assert_allclose(res.target.prob[s], full.softmax(-1).gather(1, t[:, None])[:, 0].numpy(),
                                       atol=1e-6)


def test_bert_full_head_differs_from_dot_product(tiny_models):
    bert = tiny_models["bert"]
    full = compute_lens(bert, BERT_PROMPT, "full-head", top_k=5)
    dot = compute_lens(bert, BERT_PROMPT, "dot-product", top_k=5)
    assert full.method == "full-head" and dot.method == "dot-product"
    assert not np.allclose(full.top_logits, dot.top_logits)
    # the dot product is exactly hidden state @ decoder weight
    hid = hidden_states(bert, bert.encode(BERT_PROMPT).input_ids)[:, 0]
    with torch.inference_mode():
        direct = hid[2] @ bert.adapter.unembed_matrix().T
    np.testing.assert_array_equal(dot.top_ids[2], direct.topk(5, -1).indices.numpy())


def test_masked_sweep_matches_direct_computation(tiny_models):
    bert = tiny_models["bert"]
    sentence = "the red queen ran faster."
    sweep = masked_sweep(bert, sentence)
    enc = bert.encode(sentence)
    ids = enc.input_ids[0]
    assert sweep.positions == tuple(range(1, len(ids) - 1))  # [CLS] and [SEP] are not swept
    head = lens_head(bert, "full-head")
    for j, p in enumerate(sweep.positions):
        masked = ids.clone()
        masked[p] = bert.tokenizer.mask_token_id
        hid = hidden_states(bert, masked[None])[:, 0, p]  # (S, D)
        with torch.inference_mode():
            logits = head.logits(hid)  # (S, V)
        z = (logits[:, ids[p]] - logits.mean(-1)) / logits.std(-1, unbiased=False)
        np.testing.assert_allclose(sweep.zscore[:, j], z.numpy(), atol=1e-4)
    col = sweep.normalized
    assert np.allclose(col.min(0), 0) and np.allclose(col.max(0), 1)


def test_decoder_sweep_is_next_token_z(tiny_models):
    lm = tiny_models["gpt2"]
    res = compute_lens(lm, DECODER_PROMPT, top_k=2)
    sweep = next_token_sweep(res)
    ids = res.input_ids
    head = lens_head(lm, "auto")
    hid = hidden_states(lm, lm.encode(DECODER_PROMPT).input_ids)[:, 0]
    with torch.inference_mode():
        logits = head.logits(hid[1])  # layer 1, (T, V)
    z = (logits - logits.mean(-1, keepdim=True)) / logits.std(-1, unbiased=False, keepdim=True)
    want = z[torch.arange(len(ids) - 1), torch.as_tensor(ids[1:])]
    np.testing.assert_allclose(sweep.zscore[1], want.numpy(), atol=1e-4)
    assert sweep.tokens == res.tokens[1:]


@pytest.mark.parametrize("family", ["gpt2", "gpt_neo", "gemma3", "llama"])
def test_decoder_sweep_from_moments_equals_the_lens(tiny_models, family):
    """lens_sweep (Gram-matrix moments, no vocabulary pass) gives the lens's own next-token z-scores."""
    lm = tiny_models[family]
    want = next_token_sweep(compute_lens(lm, DECODER_PROMPT, top_k=1))
    got = lens_sweep(lm, DECODER_PROMPT)
    assert got.kind == "next-token" and got.tokens == want.tokens and got.positions == want.positions
    np.testing.assert_allclose(got.zscore, want.zscore, atol=2e-4)


def test_target_token_and_trajectory(tiny_models):
    lm = tiny_models["gpt2"]
    target = lm.token_strings([lm.encode(" the").input_ids[0, -1].item()])[0]
    res = compute_lens(lm, DECODER_PROMPT, top_k=3, target=target)
    assert res.target.token == target and set(res.target.tokens) == {target}
    tr = trajectory(res)
    assert tr.position == len(res.tokens) - 1 and tr.rank.shape == (lm.info.n_layers + 1,)
    if tr.snap_layer is not None:
        assert (tr.rank[tr.snap_layer:] == 1).all()
    out = res.to_dict(2)
    assert len(out["top"]) == len(out["layers"]) == lm.info.n_layers + 1
    assert len(out["top"][0]) == len(out["tokens"]) and len(out["top"][0][0]) == 2
    assert set(out["top"][0][0][0]) == {"token", "prob", "logit"}


def test_default_target_is_final_prediction(tiny_models):
    lm = tiny_models["llama"]
    res = compute_lens(lm, DECODER_PROMPT, top_k=3)
    np.testing.assert_array_equal(res.target.token_ids, res.top_ids[-1, :, 0])
    assert (res.target.rank[-1] == 1).all()


@pytest.mark.parametrize("kwargs, message", [
    ({"prompt": ""}, "empty"),
    ({"prompt": "the city " * 200}, "context"),
    ({"target": "paris city"}, "not a single token"),
    ({"method": "final-norm"}, "full-head"),
    ({"top_k": 0}, "top-k"),
])
def test_bad_input_bert(tiny_models, kwargs, message):
    args = {"prompt": BERT_PROMPT, **kwargs}
    with pytest.raises(UserError, match=message):
        compute_lens(tiny_models["bert"], **args)


def test_bert_target_needs_mask(tiny_models):
    with pytest.raises(UserError, match=r"\[MASK\]"):
        compute_lens(tiny_models["bert"], "the red queen ran", target="queen")
    res = compute_lens(tiny_models["bert"], "the red queen ran", top_k=2)  # the plain lens needs no mask
    with pytest.raises(UserError, match=r"\[MASK\]"):
        trajectory(res)


def test_decoder_refuses_full_head(tiny_models):
    with pytest.raises(UserError, match="final-norm"):
        compute_lens(tiny_models["gemma3"], DECODER_PROMPT, "full-head")


def test_progress_exception_cancels(tiny_models):
    class Stop(BaseException):
        pass

    calls = []

    def progress(frac, msg):
        calls.append(frac)
        if len(calls) == 2:
            raise Stop

    lm = tiny_models["gpt_neo"]
    with pytest.raises(Stop):
        compute_lens(lm, DECODER_PROMPT, progress=progress)
    assert len(calls) == 2 and lm.num_hooks() == 0
