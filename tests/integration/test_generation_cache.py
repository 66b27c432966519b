"""KV-cached greedy generation under interventions gives exactly the no-cache path's tokens (tiny models), also when
the clean and the intervened continuation run together as two rows of one batch (greedy_pair), and with the
float16-screened argmax (engine/argmax.py) forced on the tiny heads, which are too small to use it by default."""
import pytest
import torch

from interp_core.ablation.counterfactual import capture_patch
from interp_core.ablation.generation import greedy, greedy_pair, greedy_uncached
from interp_core.ablation.interventions import Ablation, make_intervention, resolve_positions
from interp_core.ablation.refstats import reference_stats
from interp_core.data import Corpus
from interp_core.engine import argmax

PROMPT = "The Eiffel Tower is located in the city of"
COUNTERFACTUAL = "Alice was beginning to get very tired of sitting by her sister"
DECODERS = ("gpt2", "gpt_neo", "gemma3", "llama")
EXTRA = {"neuron": {"indices": (0, 5, 9)}, "head": {"heads": (1, 2)}}
# every site, every method and every kind of position choice ("all" includes the generated tokens)
CASES = [
    ("resid", 1, "zero", "all"), ("resid", 2, "scale", "last"), ("attn_out", 0, "mean", (1, 3, -1)),
    ("head", 1, "zero", "all"), ("head", 0, "median", "last"), ("head", 2, "noise", "all"),
    ("mlp_out", 2, "noise", (0, 2)), ("mlp_out", 1, "patch", "all"), ("neuron", 1, "scale", "all"),
    ("neuron", 2, "patch", (2, -2)), ("embed", None, "noise", "all"), ("embed", None, "patch", "last"),
    ("resid", 0, "mean", "all"), ("attn_out", 2, "patch", "last"),
]


@pytest.fixture
def one_thread():
    """Tiny matrices: a single thread avoids OpenMP contention on a busy CI machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _hooks(lm, ab: Ablation, enc):
    T = enc.input_ids.shape[1]
    kw = {}
    if ab.method in ("mean", "median", "noise"):
        kw["stats"] = reference_stats(lm, Corpus.from_text(COUNTERFACTUAL), [ab.hook_site], use_cache=False)[ab.hook_site]
    if ab.method == "patch":
        kw["patch"] = capture_patch(lm, COUNTERFACTUAL, [ab.hook_site])[ab.hook_site]
    return {ab.hook_site: make_intervention(ab, resolve_positions(ab.positions, T), prompt_len=T, **kw)}


@pytest.fixture(params=["full", "screened"])
def argmax_path(request, monkeypatch):
    if request.param == "screened":
        monkeypatch.setattr(argmax, "SCREEN_MIN_ELEMS", 0)
    return request.param


@pytest.mark.parametrize("family", DECODERS)
def test_cached_generation_matches_the_no_cache_path(tiny_models, family, one_thread, argmax_path):
    lm = tiny_models[family]
    enc = lm.encode(PROMPT)
    n = 10  # past GPT-Neo's local window (16) with the prompt
    assert greedy(lm, enc.input_ids, n) == greedy_uncached(lm, enc.input_ids, n)
    clean = greedy_uncached(lm, enc.input_ids, n)
    changed = 0
    for site, layer, method, positions in CASES:
        ab = Ablation(site, layer, method, positions=positions, scale=3.0, noise_std=2.0, **EXTRA.get(site, {}))
        hooks = _hooks(lm, ab, enc)
        want = greedy_uncached(lm, enc.input_ids, n, hooks)
        got = greedy(lm, enc.input_ids, n, hooks)
        assert got == want, f"{family} {ab.label()}: cached {got} != uncached {want}"
        assert greedy_pair(lm, enc.input_ids, n, hooks) == (clean, want), f"{family} {ab.label()}: batched pair"
        changed += want != clean
    assert changed >= len(CASES) // 3  # the control: these interventions really change the continuation
    assert lm.num_hooks() == 0


def test_cached_generation_stops_at_eos(tiny_models):
    lm = tiny_models["gpt2"]
    enc = lm.encode(PROMPT)
    out = greedy(lm, enc.input_ids, 3)
    assert len(out) == 3 and out == greedy_uncached(lm, enc.input_ids, 3)
