"""torch.compile'd blocks in scans (engine/compiled.py), on tiny decoders with dynamo's "eager" backend (the same
tracing and swapping as inductor, without its minutes of C++ compiling on a CPU): the same scan numbers as the
eager path, only blocks with no hook inside are swapped, and nothing stays on the model afterwards."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core import Site
from interp_core.data import load_corpus, tokenize_corpus
from interp_core.engine.compiled import CompiledBlocks, wants_compile
from interp_core.engine.hooks import hooked
from interp_core.neurons import scan_layers


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("family", ["gpt2", "gemma3", "llama"])
@pytest.mark.parametrize("site", ["mlp", "resid"])
def test_compiled_scan_equals_the_eager_scan(tiny_models, family, site, monkeypatch):
    lm = tiny_models[family]
    monkeypatch.setattr(lm, "compiled", CompiledBlocks(backend="eager"))
    tc = tokenize_corpus(lm, load_corpus("builtin:looking-glass"))
    kw = dict(site=site, layers="all", top_k=5, seq_len=32, batch_size=4, max_tokens=32 * 9, use_cache=False)
    eager = scan_layers(lm, tc, compile=False, **kw)
    compiled = scan_layers(lm, tc, compile=True, **kw)
    for layer in eager:
        np.testing.assert_allclose(compiled[layer].top_values, eager[layer].top_values, rtol=1e-5, atol=1e-5)
        assert (compiled[layer].top_index == eager[layer].top_index).all()
        np.testing.assert_allclose(compiled[layer].stats["mean"], eager[layer].stats["mean"], rtol=1e-5, atol=1e-6)
    assert lm.num_hooks() == 0
    assert not any("forward" in b.__dict__ for b in lm.adapter.blocks())  # the class's forward shows through again


def test_only_blocks_with_no_hook_inside_are_swapped(tiny_models):
    lm = tiny_models["gemma3"]
    blocks = lm.adapter.blocks()
    last = len(blocks) - 1
    cb = CompiledBlocks(backend="eager")
    # an MLP-neuron capture hooks inside its block; a residual capture hooks the block itself
    with hooked(lm, capture=[Site("mlp_neurons", last), Site("resid", 1)]):
        with cb.active(blocks) as swapped:
            assert swapped == list(range(last))
            assert all("forward" in blocks[i].__dict__ for i in swapped) and "forward" not in blocks[last].__dict__
    assert not any("forward" in b.__dict__ for b in blocks)


def test_swapped_forwards_are_restored_when_the_pass_fails(tiny_models):
    lm = tiny_models["gpt2"]
    blocks = lm.adapter.blocks()
    with pytest.raises(KeyboardInterrupt):
        with CompiledBlocks(backend="eager").active(blocks):
            raise KeyboardInterrupt
    assert not any("forward" in b.__dict__ for b in blocks)


def test_compile_setting(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.delenv("LOOKING_GLASS_COMPILE", raising=False)
    assert not wants_compile(cpu, None) and not wants_compile(cuda, None)  # default off (see bench/RESULTS.md)
    monkeypatch.setenv("LOOKING_GLASS_COMPILE", "cuda")
    assert wants_compile(cuda, None) and not wants_compile(cpu, None)
    assert wants_compile(cpu, True) and not wants_compile(cuda, False)
    monkeypatch.setenv("LOOKING_GLASS_COMPILE", "nonsense")
    assert not wants_compile(cuda, None)
