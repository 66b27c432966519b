"""Information flow on the embedded Gemma 3 270M: every node adds up (vectors and shares) through its sandwich
norms, grouped-query attention and sliding-window layers, and the graph to the last token is connected."""
from __future__ import annotations

import numpy as np
import pytest

from interp_core.flow import flow_graph, information_flow, neuron_contributions
from interp_core.flow.decompose import attention_chunks, capture

pytestmark = pytest.mark.slow
PROMPT = "The Eiffel Tower is located in the city of"


def test_gemma_flow_adds_up_and_connects(gemma):
    ids = gemma.encode(PROMPT).input_ids
    cap = capture(gemma, ids)
    for lay in range(gemma.adapter.n_layers):
        for ch in attention_chunks(gemma, cap, lay, chunk=4):
            err = (ch.parts.sum((1, 2)) + ch.residual - ch.whole).norm(dim=-1) / ch.whole.norm(dim=-1)
            assert float(err.max()) < 1e-4, lay
    c = information_flow(gemma, PROMPT)
    assert gemma.adapter.n_kv_heads < c.n_heads and "sliding" in c.kinds and "Sandwich" in c.frozen
    np.testing.assert_allclose(c.attn.sum((2, 3)) + c.attn_resid, 1.0, atol=1e-5)
    np.testing.assert_allclose(c.mlp + c.mlp_resid, 1.0, atol=1e-6)
    g = flow_graph(c)
    assert g.token == len(c.tokens) - 1 and any(e.kind == "attn" for e in g.edges)
    assert {e.src for e in g.edges} | {e.dst for e in g.edges} <= {n.id for n in g.nodes}
    nc = neuron_contributions(gemma, PROMPT, 5, -1)
    assert abs(nc.shares.sum() + nc.residual + nc.bias - 1.0) < 1e-5
    assert gemma.num_hooks() == 0
