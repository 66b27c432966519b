"""The CUDA path gives the CPU's numbers (fp32) and runs in bfloat16. Skipped where no GPU is present;
run on a GPU machine with `python -m pytest tests/integration/test_cuda.py`."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core import Site, load_model, make_spec

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")

PROMPT = "the quick brown fox jumps over the lazy dog"


@pytest.fixture(scope="module", autouse=True)
def _exact_fp32():
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False  # compare fp32 with fp32, not TF32
    yield
    torch.backends.cuda.matmul.allow_tf32 = old


@pytest.fixture(scope="module")
def pairs(tiny_dirs):
    """(cpu model, cuda model) of every tiny family."""
    return {f: (load_model(make_spec(str(d), device="cpu")), load_model(make_spec(str(d), device="cuda")))
            for f, d in tiny_dirs.items()}


@pytest.mark.parametrize("family", ["gpt2", "gpt_neo", "bert", "gemma3", "llama"])
def test_captures_and_logits_match_cpu(pairs, family):
    cpu, gpu = pairs[family]
    assert gpu.device.type == "cuda" and next(gpu.model.parameters()).is_cuda
    ids = cpu.encode(PROMPT).input_ids
    n = cpu.adapter.n_layers
    sites = [Site("resid", n // 2), Site("mlp_neurons", 0), Site("attn_out", n - 1)]
    a = cpu.run(ids, capture=sites)
    b = gpu.run(ids, capture=sites)
    for s in sites:
        assert b.cache[s].device.type == "cpu" or b.cache[s].is_cuda
        torch.testing.assert_close(b.cache[s].float().cpu(), a.cache[s].float(), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(b.logits.float().cpu(), a.logits.float(), rtol=1e-4, atol=1e-4)
    assert gpu.num_hooks() == 0


@pytest.mark.parametrize("family", ["gpt2", "bert", "gemma3"])
def test_lens_matches_cpu(pairs, family):
    from interp_core.lens import compute_lens

    cpu, gpu = pairs[family]
    prompt = "the red queen ran [MASK] ." if family == "bert" else PROMPT
    a, b = compute_lens(cpu, prompt, top_k=5), compute_lens(gpu, prompt, top_k=5)
    np.testing.assert_allclose(b.top_logits, a.top_logits, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(b.zscore, a.zscore, rtol=1e-3, atol=1e-3)
    gap = a.top_logits[..., 0] - a.top_logits[..., 1]
    clear = gap > 1e-3  # cells without a near tie have the same top-1
    np.testing.assert_array_equal(b.top_ids[..., 0][clear], a.top_ids[..., 0][clear])


def test_scan_distributions_and_ablation_match_cpu(pairs):
    from interp_core.ablation import run_ablation
    from interp_core.data import Corpus
    from interp_core.distributions import activation_distributions, prompt_sample
    from interp_core.ablation import Ablation
    from interp_core.neurons import scan_layer
    from interp_core.data import tokenize_corpus

    cpu, gpu = pairs["gemma3"]
    corpus = Corpus.from_text(" ".join([PROMPT, "and then the dog slept in the sun"] * 40), "toy", "toy")
    scans = [scan_layer(m, tokenize_corpus(m, corpus), site="mlp", layer=1, top_k=5, seq_len=32, batch_size=4,
                        use_cache=False) for m in (cpu, gpu)]
    np.testing.assert_allclose(scans[1].top_values, scans[0].top_values, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(scans[1].stats["mean"], scans[0].stats["mean"], rtol=1e-4, atol=1e-5)

    dists = [activation_distributions(m, prompt_sample(m, PROMPT)) for m in (cpu, gpu)]
    np.testing.assert_allclose(dists[1].stats["std"], dists[0].stats["std"], rtol=1e-4)
    np.testing.assert_allclose(dists[1].r2, dists[0].r2, atol=1e-4)

    ab = Ablation("mlp_out", 0, "zero")
    res = [run_ablation(m, PROMPT, ab, top_k=3) for m in (cpu, gpu)]
    assert res[1].main.kl == pytest.approx(res[0].main.kl, rel=1e-3, abs=1e-5)
    assert gpu.num_hooks() == 0


@pytest.mark.parametrize("family", ["gpt2", "gemma3", "llama", "bert"])
def test_bfloat16_runs(tiny_dirs, family):
    from interp_core.lens import compute_lens

    lm = load_model(make_spec(str(tiny_dirs[family]), device="cuda", dtype="bfloat16"))
    assert next(lm.model.parameters()).dtype == torch.bfloat16
    prompt = "the red queen ran [MASK] ." if family == "bert" else PROMPT
    out = lm.run(lm.encode(prompt).input_ids, capture=[Site("resid", 1)])
    assert torch.isfinite(out.cache[Site("resid", 1)].float()).all() and torch.isfinite(out.logits.float()).all()
    res = compute_lens(lm, prompt, top_k=3)
    assert np.isfinite(res.zscore).all()


@pytest.mark.parametrize("family", ["gpt2", "gemma3"])
def test_batched_sweeps_and_paired_generation_match_cpu(pairs, family):
    """The device-sized batches (engine/batching.py: ~32k tokens a pass on a GPU) give the CPU's numbers."""
    from interp_core.ablation import Ablation, sweep
    from interp_core.ablation.generation import greedy, greedy_pair

    cpu, gpu = pairs[family]
    for kind, ab in (("layers", Ablation("mlp_out", 0, "zero")), ("heads", Ablation("attn_out", 0, "scale", scale=0.5))):
        a, b = sweep(cpu, PROMPT, ab, kind, top_k=3), sweep(gpu, PROMPT, ab, kind, top_k=3)
        np.testing.assert_allclose([p.kl for p in b.points], [p.kl for p in a.points], rtol=1e-3, atol=1e-5)
    ids = cpu.encode(PROMPT).input_ids
    hooks = {Site("mlp_out", 0): lambda x: x * 0}
    assert greedy_pair(gpu, ids, 5, hooks) == (greedy(gpu, ids, 5), greedy(gpu, ids, 5, hooks))
    assert gpu.num_hooks() == 0


def test_masked_sweep_batches_by_device_and_matches_cpu(pairs):
    from interp_core.lens import masked_sweep

    cpu, gpu = pairs["bert"]
    a, b = masked_sweep(cpu, "the red queen ran to the white king ."), masked_sweep(gpu, "the red queen ran to the white king .")
    np.testing.assert_allclose(b.zscore, a.zscore, rtol=1e-3, atol=1e-3)
