"""A lens target change is computed from the kept hidden states: no forward pass, same numbers as a full run."""
import numpy as np
import pytest

from interp_core.lens import compute_lens, lens_decode, retarget, trajectory

DECODER_PROMPT = "The Eiffel Tower is located in the city of"
BERT_PROMPT = "the eiffel tower is located in the city of [MASK]."


def _no_forward(lm, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("retarget ran the model")
    monkeypatch.setattr(lm, "run", refuse)
    monkeypatch.setattr(lm.model, "forward", refuse)


def _target(lm, word):
    ids = lm.tokenizer(word, add_special_tokens=False)["input_ids"]
    return lm.token_strings([ids[-1]])[0]


@pytest.mark.parametrize("family", ["gpt2", "gemma3", "bert"])
def test_retarget_equals_a_full_run_without_the_model(tiny_models, family, monkeypatch):
    lm = tiny_models[family]
    prompt = BERT_PROMPT if lm.info.masked_lm else DECODER_PROMPT
    decoded = lens_decode(lm, prompt, top_k=5)
    target = _target(lm, " the")
    full = compute_lens(lm, prompt, top_k=5, target=target)
    T = len(decoded.tokens)
    with monkeypatch.context() as m:
        _no_forward(lm, m)
        every = retarget(lm, decoded, target, positions=range(T))
        quick = retarget(lm, decoded, target)
        back = retarget(lm, every, None, positions=range(T))
    for r in (every, quick):
        assert r.target.token == target and set(r.target.tokens) == {target}
        np.testing.assert_allclose(r.target.logit, full.target.logit, atol=1e-4)
        np.testing.assert_allclose(r.target.prob, full.target.prob, atol=1e-6)
        np.testing.assert_allclose(r.target.zscore, full.target.zscore, atol=1e-4)
    np.testing.assert_array_equal(every.target.rank, full.target.rank)
    assert every.rank_exact.all()
    # default: exact at the trajectory's position (and wherever the target is in the top-k); elsewhere a lower bound
    pos = trajectory(quick).position
    assert quick.rank_exact[:, pos].all()
    np.testing.assert_array_equal(quick.target.rank[quick.rank_exact], full.target.rank[quick.rank_exact])
    assert (quick.target.rank[~quick.rank_exact] <= full.target.rank[~quick.rank_exact]).all()
    np.testing.assert_array_equal(trajectory(quick).rank, trajectory(full).rank)
    # back to the default target (each position's final prediction) gives the decode's own numbers
    np.testing.assert_array_equal(back.target.token_ids, decoded.target.token_ids)
    np.testing.assert_array_equal(back.target.rank, decoded.target.rank)
    np.testing.assert_allclose(back.target.zscore, decoded.target.zscore, atol=1e-4)
    assert lm.num_hooks() == 0
