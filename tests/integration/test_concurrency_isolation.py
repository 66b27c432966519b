"""Guarantee 1: many sessions on one cached model never see each other's hooks or data.

16 threads at once on the same LoadedModel — 8 running clean passes, 8 running ablations with captures —
must get clean logits bit-identical to a single-threaded baseline, captures that hold only their own
prompt's activations, and leave the model with zero hooks and unchanged weights, mode, dtype and device.
"""
from __future__ import annotations

import hashlib
import threading

import pytest
import torch

from interp_core import Site, hooked

PROMPTS = [
    "Alice was beginning to get very tired",
    "The Eiffel Tower is located in the city of",
    "Before the first move, the Red Queen ran",
    "One thing was certain, that the white kitten",
    "sitting by her sister on the bank",
    "the black kitten's fault entirely",
    "of having nothing to do",
    "The city of Paris",
]
N_CLEAN, N_HOOKED, ROUNDS = 8, 8, 3


def fingerprint(lm) -> dict:
    """Everything a request could corrupt on the shared model: weights, buffers, mode, dtype, device, hooks."""
    h = hashlib.sha256()
    for name, t in [*lm.model.named_parameters(), *lm.model.named_buffers()]:
        h.update(name.encode())
        h.update(t.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    n_all_hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in lm.model.modules())
    p = next(lm.model.parameters())
    return {"weights": h.hexdigest(), "training": lm.model.training, "dtype": p.dtype, "device": p.device,
            "ours": lm.num_hooks(), "all_hooks": n_all_hooks,
            "grad": any(q.requires_grad for q in lm.model.parameters())}


def _ablation(lm):
    """Zero one MLP and capture two sites downstream — a typical ablation-page request."""
    n = lm.adapter.n_layers
    interventions = {Site("mlp_out", 0): torch.zeros_like}
    capture = [Site("resid", n), Site("mlp_neurons", n - 1)]
    return interventions, capture


def _run_stress(lm, rounds: int = ROUNDS):
    ids = [lm.encode(p).input_ids for p in PROMPTS]
    interventions, capture = _ablation(lm)
    before = fingerprint(lm)
    # single-threaded baselines
    clean = [lm.run(x).logits.clone() for x in ids]
    hooked = [lm.run(x, capture=capture, interventions=interventions) for x in ids]
    assert not torch.equal(clean[0], hooked[0].logits), "the ablation must change the output, or the test proves nothing"

    barrier = threading.Barrier(N_CLEAN + N_HOOKED)
    failures: list[str] = []

    def clean_worker(k: int):
        barrier.wait()
        for r in range(rounds):
            i = (k + r) % len(PROMPTS)
            out = lm.run(ids[i]).logits
            if not torch.equal(out, clean[i]):
                failures.append(f"clean thread {k} round {r}: logits differ from the baseline")

    def hooked_worker(k: int):
        barrier.wait()
        for r in range(rounds):
            i = (k + 3 * r) % len(PROMPTS)
            res = lm.run(ids[i], capture=capture, interventions=interventions)
            if set(res.cache) != set(capture):
                failures.append(f"hooked thread {k}: captured {sorted(map(str, res.cache))}")
            for s in capture:
                got, want = res.cache[s], hooked[i].cache[s]
                if got.shape != want.shape or not torch.equal(got, want):
                    failures.append(f"hooked thread {k} round {r}: capture {s} is not its own request's data")
            if not torch.equal(res.logits, hooked[i].logits):
                failures.append(f"hooked thread {k} round {r}: ablated logits differ")

    threads = [threading.Thread(target=clean_worker, args=(k,)) for k in range(N_CLEAN)]
    threads += [threading.Thread(target=hooked_worker, args=(k,)) for k in range(N_HOOKED)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    assert not failures, failures[:5]
    assert fingerprint(lm) == before
    assert lm.num_hooks() == 0
    # and a clean pass afterwards is still the baseline
    assert torch.equal(lm.run(ids[0]).logits, clean[0])


@pytest.mark.parametrize("family", ["gpt2", "gemma3", "bert"])
def test_sixteen_threads_tiny(tiny_models, family):
    _run_stress(tiny_models[family])


@pytest.mark.slow
def test_sixteen_threads_embedded_gemma(gemma):
    _run_stress(gemma, rounds=1)  # 16 concurrent passes + 16 baselines on the real model


def test_captures_differ_between_prompts(tiny_models):
    """Sanity for the check above: different prompts really give different captures."""
    lm = tiny_models["gpt2"]
    a = lm.run(lm.encode(PROMPTS[0]).input_ids, capture=[Site("resid", 1)]).cache[Site("resid", 1)]
    b = lm.run(lm.encode(PROMPTS[1]).input_ids, capture=[Site("resid", 1)]).cache[Site("resid", 1)]
    assert a.shape != b.shape or not torch.equal(a, b)


@pytest.mark.parametrize("family", ["gpt2", "gemma3"])
def test_unlocked_decoding_never_runs_through_another_requests_hooks(tiny_models, family):
    """Lens/generation decode with the final norm and unembedding modules directly (outside the lock).
    While another request holds hooks on exactly those modules, the decode must neither be changed by
    them nor leak its data into that request's captures."""
    lm = tiny_models[family]
    ids = lm.encode(PROMPTS[1]).input_ids
    resid = lm.run(ids, capture=[Site("resid", lm.adapter.n_layers)], need_logits=False).cache[Site("resid", lm.adapter.n_layers)]
    other = torch.randn(1, 3, lm.adapter.d_model)
    want = lm.adapter.decode_resid(other).clone()
    holding, release, got = threading.Event(), threading.Event(), {}

    def request_a():
        with hooked(lm, capture=[Site("final_norm"), Site("logits")],
                    interventions={Site("final_norm"): torch.zeros_like}) as h:
            lm.model(input_ids=ids, use_cache=False)
            got["cache"] = {s: t.clone() for s, t in h.cache.items()}
            holding.set()
            release.wait(30)
            got["after"] = {s: t.clone() for s, t in h.cache.items()}

    a = threading.Thread(target=request_a)
    a.start()
    assert holding.wait(30)
    try:
        with torch.inference_mode():
            out = lm.adapter.decode_resid(other)  # request B, same moment, no lock
    finally:
        release.set()
        a.join(30)
    assert torch.equal(out, want), "B's decode ran through A's final-norm intervention"
    for s in got["cache"]:
        assert torch.equal(got["cache"][s], got["after"][s]), f"B's data leaked into A's capture at {s}"
    assert got["cache"][Site("final_norm")].shape[1] == ids.shape[1]
    assert lm.num_hooks() == 0
    assert resid.shape[1] == ids.shape[1]
