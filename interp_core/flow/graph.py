"""The information flow graph: from a chosen token's last residual state, walk back through the layers keeping
the edges whose share exceeds a threshold, following only nodes already reached (Ferrando & Voita, 2024)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from interp_core.errors import UserError
from interp_core.flow.results import FlowContributions
from interp_core.flow.shares import threshold_renormalise

EDGE_COLUMNS = ["kind", "layer", "source", "destination", "share", "renormalised", "top_head", "src", "dst"]
EDGE_KINDS = {"attn": "attention from a source token (its heads summed)",
              "attn_resid": "the residual stream through the attention block",
              "mlp": "the MLP's update", "mlp_resid": "the residual stream past the MLP"}
DEFAULT_THRESHOLD = 0.04


def node_id(kind: str, layer: int, position: int) -> str:
    """'resid:L:P' (the state entering block L; L = n_layers: the last), 'mid:L:P' (after attention), 'mlp:L:P'."""
    return f"{kind}:{layer}:{position}"


@dataclass(frozen=True)
class FlowNode:
    kind: str  # 'resid', 'mid' or 'mlp'
    layer: int
    position: int

    @property
    def id(self) -> str:
        return node_id(self.kind, self.layer, self.position)


@dataclass(frozen=True)
class FlowEdge:
    kind: str  # one of EDGE_KINDS
    layer: int  # the block the edge passes through
    source: int  # source position
    destination: int  # destination position
    share: float  # the raw contribution (before the threshold)
    renormalised: float  # after the threshold, renormalised over what is kept at the destination node
    top_head: int  # attn: the head with the largest share of this edge; -1 otherwise

    @property
    def src(self) -> str:
        return node_id("mid" if self.kind in ("mlp", "mlp_resid") else "resid", self.layer, self.source)

    @property
    def dst(self) -> str:
        return node_id("resid" if self.kind in ("mlp", "mlp_resid") else "mid",
                       self.layer + 1 if self.kind in ("mlp", "mlp_resid") else self.layer, self.destination)


@dataclass(frozen=True)
class FlowGraph:
    """The pruned graph to one token, with the dense contributions it was cut from."""

    contributions: FlowContributions
    token: int  # the chosen position
    threshold: float
    nodes: tuple[FlowNode, ...]
    edges: tuple[FlowEdge, ...]

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.contributions.tokens

    def frame(self) -> pd.DataFrame:
        """EDGE_COLUMNS, one row per kept edge, from the top layer down."""
        rows = [(e.kind, e.layer, e.source, e.destination, e.share, e.renormalised, e.top_head, e.src, e.dst)
                for e in self.edges]
        return pd.DataFrame(rows, columns=EDGE_COLUMNS)

    def to_dict(self) -> dict:
        return {"token": self.token, "token_text": self.tokens[self.token], "threshold": self.threshold,
                "nodes": [{"id": n.id, "kind": n.kind, "layer": n.layer, "position": n.position} for n in self.nodes],
                "edges": self.frame().to_dict("records"), "edge_kinds": EDGE_KINDS,
                "contributions": self.contributions.to_dict()}


def check_threshold(threshold: float) -> float:
    if not 0.0 <= float(threshold) < 1.0:
        raise UserError(f"The threshold must be at least 0 and below 1 (got {threshold}).")
    return float(threshold)


def flow_graph(c: FlowContributions, token: int = -1, threshold: float = DEFAULT_THRESHOLD) -> FlowGraph:
    """Walk back from the last residual state of `token` (negative counts from the end), keeping every edge whose
    share exceeds `threshold` into a node already reached."""
    t = len(c.tokens)
    if not -t <= token < t:
        raise UserError(f"Token {token} is out of range; the prompt has {t} tokens (0–{t - 1}).")
    thr = check_threshold(threshold)
    pos = token % t
    n = c.n_layers
    edge_sum = c.edges()  # (L, T, T)
    nodes = [FlowNode("resid", n, pos)]
    edges: list[FlowEdge] = []
    reached = {pos}  # positions reached at the current residual layer
    for lay in range(n - 1, -1, -1):
        mids: set[int] = set()
        for d in sorted(reached):
            blk, res = threshold_renormalise(torch.tensor([c.mlp[lay, d]]), torch.tensor(c.mlp_resid[lay, d]), thr)
            if c.mlp[lay, d] > thr:
                edges.append(FlowEdge("mlp", lay, d, d, float(c.mlp[lay, d]), float(blk[0]), -1))
                nodes.append(FlowNode("mlp", lay, d))
                mids.add(d)
            if c.mlp_resid[lay, d] > thr:
                edges.append(FlowEdge("mlp_resid", lay, d, d, float(c.mlp_resid[lay, d]), float(res), -1))
                mids.add(d)
        nodes += [FlowNode("mid", lay, d) for d in sorted(mids)]
        reached = set()
        for d in sorted(mids):
            row = torch.from_numpy(edge_sum[lay, d])
            blk, res = threshold_renormalise(row, torch.tensor(c.attn_resid[lay, d]), thr)
            for s in np.flatnonzero(edge_sum[lay, d] > thr):
                top = int(np.argmax(c.attn[lay, d, s]))
                edges.append(FlowEdge("attn", lay, int(s), d, float(edge_sum[lay, d, s]), float(blk[s]), top))
                reached.add(int(s))
            if c.attn_resid[lay, d] > thr:
                edges.append(FlowEdge("attn_resid", lay, d, d, float(c.attn_resid[lay, d]), float(res), -1))
                reached.add(d)
        nodes += [FlowNode("resid", lay, s) for s in sorted(reached)]
    return FlowGraph(c, pos, thr, tuple(nodes), tuple(edges))
