"""A neuron on your own prompt: one dimension's activation at every token of a typed prompt, and the strongest
dimensions of the same layer at each token (so a click on a token can open its top neurons)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from interp_core.budgets import budgets
from interp_core.engine.model import LoadedModel
from interp_core.neurons.seed import check_dim, resolve_site

ACTIVATION_COLUMNS = ["position", "token", "activation"]
TOP_NEURON_COLUMNS = ["rank", "dim", "activation"]


@dataclass(frozen=True)
class PromptActivations:
    """values (T,) of `dim`, and per token the top-k dims of the layer by activation."""

    model: str
    site: str
    layer: int
    dim: int
    tokens: tuple[str, ...]
    values: np.ndarray  # (T,) float32
    top_dims: np.ndarray  # (T, k) int64, strongest first
    top_values: np.ndarray  # (T, k) float32

    def top_at(self, position: int) -> pd.DataFrame:
        """TOP_NEURON_COLUMNS: the layer's strongest dimensions at one token."""
        p = position % len(self.tokens)
        return pd.DataFrame({"rank": np.arange(1, self.top_dims.shape[1] + 1), "dim": self.top_dims[p].astype(int),
                             "activation": self.top_values[p].astype(float)}, columns=TOP_NEURON_COLUMNS)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"position": np.arange(len(self.tokens)), "token": list(self.tokens),
                             "activation": self.values.astype(float)}, columns=ACTIVATION_COLUMNS)

    def to_dict(self) -> dict:
        return {"model": self.model, "site": self.site, "layer": self.layer, "dim": self.dim,
                "tokens": list(self.tokens), "activations": self.values.astype(float).tolist(),
                "top": [{"position": p, "dims": self.top_dims[p].tolist(), "values": self.top_values[p].tolist()}
                        for p in range(len(self.tokens))]}


def prompt_activations(lm: LoadedModel, prompt: str, *, site: str, layer: int, dim: int,
                       top_k: int = 10) -> PromptActivations:
    """Activation of `dim` at (site, layer) on every token of `prompt` (special tokens included, as the model sees it)."""
    hook_site, width = resolve_site(lm, site, layer)
    check_dim(dim, width, site)
    enc = lm.encode(prompt)
    budgets().attention_tokens.check(len(enc.tokens))
    acts = lm.run(enc.input_ids, capture=[hook_site], need_logits=False).cache[hook_site][0].float()  # (T, W)
    with torch.inference_mode():
        v, ix = torch.topk(acts, min(top_k, width), dim=-1)  # (T, k)
    return PromptActivations(lm.spec.name, site, layer, dim, enc.tokens, acts[:, dim].cpu().numpy(),
                             ix.cpu().numpy().astype(np.int64), v.cpu().numpy())
