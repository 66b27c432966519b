"""The dense contributions of one prompt and the per-neuron contributions at one (layer, position)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from interp_core.engine.model import LoadedModel

CONTRIBUTION_COLUMNS = ["layer", "block", "destination", "source", "head", "share"]
NEURON_COLUMNS = ["rank", "neuron", "share"]
METHOD_NOTE = ("Contribution of a part to a sum: max(‖sum‖₁ − ‖sum − part‖₁, ε), normalised over the parts "
               "(Ferrando & Voita, 2024). The residual stream entering a block is one of its parts.")


def frozen_note(lm: LoadedModel) -> str:
    """What the decomposition froze or left unsplit for this model's blocks, in one sentence."""
    a = lm.adapter
    if a.n_layers and a.post_add_norms(0)[0] is not None:
        return ("Post-norm blocks: each block is split before its add-&-LayerNorm (the parts add up to the sum the "
                "LayerNorm receives); the LayerNorm itself is not split and nothing is frozen.")
    if a.n_layers and (a.attn_post_norm(0) is not None or a.mlp_post_norm(0) is not None):
        return ("Sandwich norms: each block's output is split before its own post-norm, and the norm is applied to "
                "every part with its scale (1/rms of the whole block output) frozen at its value on this run, "
                "so the parts add up exactly to what the block added.")
    return "Pre-norm blocks: each block's output is added to the residual stream as is; nothing is frozen."


@dataclass(frozen=True)
class FlowContributions:
    """Every block's parts' shares at every position: attention per (layer, destination, source, head) with the
    residual's share, and the MLP with the residual's share, per (layer, position). Each node's shares sum to 1."""

    model: str
    tokens: tuple[str, ...]
    attn: np.ndarray  # (L, T, T, H) float32: [layer, destination, source, head]; 0 where the mask forbids
    attn_resid: np.ndarray  # (L, T) the residual stream's share of the attention block's sum
    mlp: np.ndarray  # (L, T) the MLP's share of the MLP block's sum
    mlp_resid: np.ndarray  # (L, T) the residual stream's share (mlp + mlp_resid = 1)
    kinds: tuple[str, ...]  # per layer: 'global', 'sliding' or 'bidirectional'
    windows: tuple[int | None, ...]
    n_kv_heads: int
    frozen: str  # what was frozen (sandwich norms) or left unsplit (post-norm encoders)
    method: str = METHOD_NOTE

    @property
    def n_layers(self) -> int:
        return int(self.attn.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.attn.shape[3])

    def edges(self) -> np.ndarray:
        """(L, T, T) each (destination, source) attention edge: its heads' shares summed."""
        return self.attn.sum(-1)

    def heads(self, layer: int, destination: int, source: int) -> pd.DataFrame:
        """One edge's heads ranked by share: head, kv_group, share."""
        s = self.attn[layer, destination, source]
        order = np.argsort(-s, kind="stable")
        group = self.n_heads // max(1, self.n_kv_heads)
        return pd.DataFrame({"head": order, "kv_group": order // group, "share": s[order].astype(float)})

    def frame(self) -> pd.DataFrame:
        """CONTRIBUTION_COLUMNS: one row per non-zero attention part, the residual shares (source = destination,
        head = -1, block 'attn_resid' / 'mlp_resid') and the MLPs (block 'mlp')."""
        lay, dst, src, hd = np.nonzero(self.attn)
        rows = [pd.DataFrame({"layer": lay, "block": "attn", "destination": dst, "source": src, "head": hd,
                              "share": self.attn[lay, dst, src, hd].astype(float)})]
        for block, arr in (("attn_resid", self.attn_resid), ("mlp", self.mlp), ("mlp_resid", self.mlp_resid)):
            ly, pos = np.indices(arr.shape).reshape(2, -1)
            rows.append(pd.DataFrame({"layer": ly, "block": block, "destination": pos, "source": pos, "head": -1,
                                      "share": arr.reshape(-1).astype(float)}))
        return pd.concat(rows, ignore_index=True)[CONTRIBUTION_COLUMNS]

    def to_dict(self) -> dict:
        return {"model": self.model, "tokens": list(self.tokens), "n_layers": self.n_layers, "n_heads": self.n_heads,
                "n_kv_heads": self.n_kv_heads, "kinds": list(self.kinds), "windows": list(self.windows),
                "method": self.method, "frozen": self.frozen,
                "attn": {"dims": ["layer", "destination", "source", "head"],
                         "shares": np.round(self.attn, 6).tolist()},
                "attn_resid": np.round(self.attn_resid, 6).tolist(),
                "mlp": np.round(self.mlp, 6).tolist(), "mlp_resid": np.round(self.mlp_resid, 6).tolist()}


@dataclass(frozen=True)
class NeuronContributions:
    """Each MLP neuron's share of the MLP block's sum at one (layer, position), with the residual's and the bias's."""

    model: str
    tokens: tuple[str, ...]
    layer: int
    position: int
    shares: np.ndarray  # (M,) float32
    residual: float
    bias: float  # the down projection's bias (0 when it has none)
    frozen: str

    def top(self, k: int = 20) -> pd.DataFrame:
        """NEURON_COLUMNS: the k neurons with the largest shares."""
        k = min(k, self.shares.shape[0])
        idx = np.argpartition(-self.shares, k - 1)[:k]
        idx = idx[np.argsort(-self.shares[idx], kind="stable")]
        return pd.DataFrame({"rank": np.arange(1, k + 1), "neuron": idx.astype(int),
                             "share": self.shares[idx].astype(float)})

    def frame(self) -> pd.DataFrame:
        return self.top(self.shares.shape[0])

    def to_dict(self, k: int = 50) -> dict:
        return {"model": self.model, "tokens": list(self.tokens), "layer": self.layer, "position": self.position,
                "token": self.tokens[self.position], "residual": self.residual, "bias": self.bias,
                "frozen": self.frozen, "top": self.top(k).to_dict("records"),
                "shares": np.round(self.shares, 7).tolist()}
