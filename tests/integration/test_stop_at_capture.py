"""A pass that needs no logits stops as soon as its last capture is taken: the rest of that block (the MLP's
down projection after a neuron capture) never runs, and the captured values are those of a full forward."""
import pytest
import torch

from interp_core import Site
from tiny_models import FAMILIES


@pytest.mark.parametrize("family", FAMILIES)
def test_neuron_capture_skips_the_rest_of_the_block(tiny_models, family):
    lm = tiny_models[family]
    layer = lm.adapter.n_layers - 1
    site = Site("mlp_neurons", layer)
    down = lm.adapter.mlp_down_proj(layer)
    calls = []
    handle = down.register_forward_hook(lambda *a: calls.append(1))
    try:
        ids = torch.randint(5, lm.adapter.vocab_size - 5, (2, 9))
        full = lm.run(ids, capture=[site], need_logits=True)
        assert len(calls) == 1 and full.logits is not None
        early = lm.run(ids, capture=[site], need_logits=False)
        assert len(calls) == 1  # the down projection after the capture did not run
    finally:
        handle.remove()
    torch.testing.assert_close(early.cache[site], full.cache[site], rtol=0, atol=0)
