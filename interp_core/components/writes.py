"""What a neuron writes: the tokens an MLP neuron (or a residual dimension) promotes and suppresses through
the direct path — its output weight vector through the unembedding, with and without the norms' weights."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from interp_core.components.frozen_norm import norm_gain
from interp_core.engine.model import LoadedModel
from interp_core.errors import UserError
from interp_core.features.writes import feature_write
from interp_core.neurons.seed import check_dim, resolve_site

WRITE_COLUMNS = ["variant", "direction", "rank", "token", "token_id", "value"]
VARIANTS = {"raw": "W_U · w_out", "normed": "W_U · (norm weights ⊙ w_out)"}


@dataclass(frozen=True)
class NeuronWrites:
    """Per variant, the k most promoted and most suppressed tokens with their direct-path values."""

    model: str
    site: str
    layer: int
    dim: int
    vector_norm: float  # |w_out| (1 for a residual dimension)
    table: pd.DataFrame  # WRITE_COLUMNS
    norms_note: str

    def ranked(self, variant: str = "normed", direction: str = "promotes") -> pd.DataFrame:
        t = self.table
        return t[(t["variant"] == variant) & (t["direction"] == direction)].reset_index(drop=True)

    def frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict:
        out = {"model": self.model, "site": self.site, "layer": self.layer, "dim": self.dim,
               "vector_norm": self.vector_norm, "norms": self.norms_note}
        for v in VARIANTS:
            for d in ("promotes", "suppresses"):
                out[f"{v}_{d}"] = self.ranked(v, d)[["rank", "token", "token_id", "value"]].to_dict("records")
        return out


def write_vector(lm: LoadedModel, site: str, layer: int, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(raw, normed) (D,) directions a unit activation of `dim` adds to the residual stream, before and after the
    per-dimension weights of the norms on its direct path (a Gemma 2/3 MLP's own post-norm, then the final norm)."""
    a = lm.adapter
    if not a.has_lm_head or a.masked_lm:
        why = "it has no LM head" if not a.has_lm_head else "its MLM head's transform is non-linear"
        raise UserError(f"What a neuron writes is not available for this model: {why}.")
    hook_site, width = resolve_site(lm, site, layer)
    check_dim(dim, width, site)
    with torch.inference_mode():
        if hook_site.kind == "sae":  # a feature: its decoder row, through any projection and post-norm on its path
            raw, post = feature_write(lm, hook_site, dim)
            normed = raw * norm_gain(post, raw.shape[0], torch.float32, raw.device)[0] if post is not None else raw
        elif hook_site.kind == "mlp_neurons":
            down = a.mlp_down_proj(layer)
            rows = torch.zeros(2, width, dtype=next(down.parameters()).dtype, device=lm.device)
            rows[0, dim] = 1.0
            out = down(rows).float()  # (2, D): the neuron's column plus the bias, then the bias alone
            raw = out[0] - out[1]
            post = a.mlp_post_norm(layer)
            normed = raw * norm_gain(post, raw.shape[0], torch.float32, raw.device)[0] if post is not None else raw
        else:
            raw = torch.zeros(a.d_model, device=lm.device)
            raw[dim] = 1.0
            normed = raw
        final = a.final_norm_module()
        if final is not None:
            normed = normed * norm_gain(final, raw.shape[0], torch.float32, raw.device)[0]
    return raw, normed


def first_k_stable(keys: np.ndarray, k: int) -> np.ndarray:
    """np.argsort(keys, kind="stable")[:k] without sorting all V keys: the k-th smallest key by partition, then
    a stable sort of the (ascending) indices at or below it, so ties keep the lower token id first."""
    if k >= keys.shape[0]:
        return np.argsort(keys, kind="stable")
    kth = np.partition(keys, k - 1)[k - 1]
    cand = np.flatnonzero(keys <= kth)  # ascending ids, every tie of the k-th key included
    return cand[np.argsort(keys[cand], kind="stable")][:k]


def neuron_writes(lm: LoadedModel, *, site: str, layer: int, dim: int, k: int = 20) -> NeuronWrites:
    """The k tokens `dim` of (site, layer) promotes and suppresses most, raw and through the norms' weights."""
    if not 1 <= k <= 200:
        raise UserError(f"The number of tokens must be between 1 and 200 (got {k}).")
    raw, normed = write_vector(lm, site, layer, dim)
    w_u = lm.adapter.unembed_matrix()
    frames = []
    with torch.inference_mode():
        both = (w_u.float() @ torch.stack([raw, normed], dim=1).float()).cpu().numpy()  # (V, 2): one read of W_U
        for variant, vals in (("raw", both[:, 0]), ("normed", both[:, 1])):
            for direction, ids in (("promotes", first_k_stable(-vals, k)), ("suppresses", first_k_stable(vals, k))):
                frames.append(pd.DataFrame({"variant": variant, "direction": direction, "rank": np.arange(1, len(ids) + 1),
                                            "token": lm.token_strings(ids.tolist()), "token_id": ids.astype(int),
                                            "value": vals[ids].astype(float)}))
    note = ("normed: through the final norm's weight" +
            (" and this MLP's post-norm weight" if site == "mlp" and lm.adapter.mlp_post_norm(layer) is not None else "") +
            "; raw: the output weight vector straight through the unembedding")
    return NeuronWrites(lm.spec.name, site, layer, dim, float(raw.norm()), pd.concat(frames, ignore_index=True), note)
