"""The contribution rule, the threshold with renormalisation and the graph walk, on hand-made numbers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core.flow import (
    FlowContributions,
    flow_graph,
    proximity,
    shares,
    threshold_renormalise,
)


def test_proximity_on_a_hand_made_sum():
    whole = torch.tensor([1.0, 1.0])
    parts = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])[None]  # (N=1, P=3, D)
    # ‖w‖₁ = 2; ‖w − p‖₁ = 1, 1, 3  ->  1, 1, max(-1, ε)
    np.testing.assert_allclose(proximity(parts, whole[None])[0].numpy(), [1.0, 1.0, 1e-5])
    np.testing.assert_allclose(shares(parts, whole[None])[0].numpy(), np.array([1, 1, 1e-5]) / (2 + 1e-5), rtol=1e-6)


def test_threshold_renormalise_matches_the_definition_by_hand():
    blocks = torch.tensor([[0.50, 0.03, 0.10], [0.02, 0.01, 0.03]])
    residual = torch.tensor([0.37, 0.94])
    b, r = threshold_renormalise(blocks, residual, 0.04)
    # row 0 keeps 0.50, 0.10 and the residual 0.37 (sum 0.97); row 1 keeps only its residual
    np.testing.assert_allclose(b.numpy(), [[0.50 / 0.97, 0.0, 0.10 / 0.97], [0.0, 0.0, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(r.numpy(), [0.37 / 0.97, 1.0], rtol=1e-6)
    b, r = threshold_renormalise(torch.tensor([[0.01]]), torch.tensor([0.02]), 0.5)  # nothing left: zeros
    assert float(b.sum()) == 0.0 and float(r.sum()) == 0.0


def _contributions(attn: np.ndarray, attn_resid: np.ndarray, mlp: np.ndarray) -> FlowContributions:
    n, t = mlp.shape
    return FlowContributions("hand", tuple(f"t{i}" for i in range(t)), attn.astype(np.float32),
                             attn_resid.astype(np.float32), mlp.astype(np.float32), (1 - mlp).astype(np.float32),
                             ("global",) * n, (None,) * n, attn.shape[3], "nothing frozen")


def test_graph_on_a_hand_made_example():
    # 1 layer, 3 tokens, 2 heads; destination 2 reads source 0 through head 1 (0.5), source 1 weakly (0.02 + 0.01)
    attn = np.zeros((1, 3, 3, 2))
    attn[0, 2, 0] = [0.05, 0.45]
    attn[0, 2, 1] = [0.02, 0.01]
    attn_resid = np.array([[1.0, 1.0, 0.47]])
    mlp = np.array([[0.2, 0.2, 0.03]])
    g = flow_graph(_contributions(attn, attn_resid, mlp), token=-1, threshold=0.04)
    kinds = {(e.kind, e.source, e.destination) for e in g.edges}
    assert kinds == {("mlp_resid", 2, 2), ("attn", 0, 2), ("attn_resid", 2, 2)}  # MLP 0.03 and source 1 cut
    edge = next(e for e in g.edges if e.kind == "attn")
    assert edge.top_head == 1 and edge.share == pytest.approx(0.5)
    assert edge.renormalised == pytest.approx(0.5 / 0.97)
    assert {n.id for n in g.nodes} == {"resid:1:2", "mid:0:2", "resid:0:0", "resid:0:2"}
    assert list(g.contributions.heads(0, 2, 0)["head"]) == [1, 0]


def test_random_graphs_prune_and_stay_connected():
    rng = np.random.default_rng(0)
    n, t, h = 4, 7, 3
    raw = rng.random((n, t, t + 1, h)) ** 4
    raw[:, :, :t][:, np.triu_indices(t, 1)[0], np.triu_indices(t, 1)[1]] = 0  # causal
    raw[:, :, t, 1:] = 0
    raw = raw / raw.sum((2, 3), keepdims=True)
    attn, attn_resid = raw[:, :, :t], raw[:, :, t, 0]
    mlp = rng.random((n, t))
    c = _contributions(attn, attn_resid, mlp)
    for thr in (0.0, 0.04, 0.2):
        g = flow_graph(c, token=3, threshold=thr)
        assert all(e.share > thr for e in g.edges)  # a removed edge never appears
        ids = {nd.id for nd in g.nodes}
        assert len(ids) == len(g.nodes)
        # every drawn node is reachable from the chosen token, walking the kept edges backwards
        into: dict[str, set[str]] = {}
        for e in g.edges:
            into.setdefault(e.dst, set()).add(e.src)
            if e.kind == "mlp":
                assert f"mlp:{e.layer}:{e.destination}" in ids
                into.setdefault(f"mlp:{e.layer}:{e.destination}", set())
        seen, stack = {f"resid:{n}:3"}, [f"resid:{n}:3"]
        while stack:
            for nxt in into.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        mlp_nodes = {f"mlp:{e.layer}:{e.destination}" for e in g.edges if e.kind == "mlp"}
        assert ids == seen | mlp_nodes
        assert all(e.src in ids and e.dst in ids for e in g.edges)
    full = flow_graph(c, token=3, threshold=0.0)
    assert len(full.edges) > len(flow_graph(c, token=3, threshold=0.2).edges)
