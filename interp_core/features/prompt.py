"""Which features fire on my text: an SAE's strongest latents at every token of a prompt, and across the prompt."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from interp_core.budgets import budgets
from interp_core.engine.model import LoadedModel
from interp_core.errors import UserError
from interp_core.features.store import attach

OVERALL_COLUMNS = ["rank", "feature", "max", "sum", "n_active", "argmax_position", "argmax_token"]


@dataclass(frozen=True)
class PromptFeatures:
    """Per token the k strongest latents; across the prompt the latents ranked by their largest activation."""

    model: str
    sae: str
    layer: int
    tokens: tuple[str, ...]
    top_features: np.ndarray  # (T, k) int64, strongest first (only active latents count; 0-valued slots are padding)
    top_values: np.ndarray  # (T, k) float32
    overall: pd.DataFrame  # OVERALL_COLUMNS

    def at(self, position: int) -> pd.DataFrame:
        """The active latents at one token: rank, feature, activation."""
        p = position % len(self.tokens)
        keep = self.top_values[p] > 0
        return pd.DataFrame({"rank": np.arange(1, int(keep.sum()) + 1), "feature": self.top_features[p][keep].astype(int),
                             "activation": self.top_values[p][keep].astype(float)})

    def frame(self) -> pd.DataFrame:
        return self.overall

    def to_dict(self) -> dict:
        return {"model": self.model, "sae": self.sae, "layer": self.layer, "tokens": list(self.tokens),
                "per_token": [{"position": p, "token": t, "features": self.at(p)["feature"].tolist(),
                               "values": self.at(p)["activation"].tolist()} for p, t in enumerate(self.tokens)],
                "overall": self.overall.to_dict("records")}


def prompt_features(lm: LoadedModel, prompt: str, sae_id: str, *, k: int = 10, n_overall: int = 30) -> PromptFeatures:
    """Encode the prompt's activations at the SAE's site; latents per token and across the prompt (T x F is one
    prompt's worth, never a corpus')."""
    if not 1 <= k <= 100 or not 1 <= n_overall <= 1000:
        raise UserError("Ask for 1–100 features per token and 1–1000 across the prompt.")
    site, sae = attach(lm, sae_id)
    enc = lm.encode(prompt)
    budgets().attention_tokens.check(len(enc.tokens))
    z = lm.run(enc.input_ids, capture=[site], need_logits=False).cache[site][0].float()  # (T, F)
    with torch.inference_mode():
        v, ix = torch.topk(z, min(k, sae.d_sae), dim=-1)  # (T, k)
        mx, arg = z.max(dim=0)  # (F,)
        total = z.sum(0)
        active = (z > 0).sum(0)
        order = torch.argsort(-mx, stable=True)[:n_overall]
        order = order[mx[order] > 0]
    arg_np = arg[order].cpu().numpy()
    overall = pd.DataFrame({"rank": np.arange(1, len(order) + 1), "feature": order.cpu().numpy().astype(int),
                            "max": mx[order].cpu().numpy().astype(float), "sum": total[order].cpu().numpy().astype(float),
                            "n_active": active[order].cpu().numpy().astype(int), "argmax_position": arg_np.astype(int),
                            "argmax_token": [enc.tokens[i] for i in arg_np]}, columns=OVERALL_COLUMNS)
    return PromptFeatures(lm.spec.name, sae_id, int(site.layer or 0), enc.tokens, ix.cpu().numpy().astype(np.int64),
                          v.cpu().numpy().astype(np.float32), overall)
