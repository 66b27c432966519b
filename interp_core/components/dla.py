"""Direct logit attribution: split a target token's logit (or target − foil) at one position into the
embedding, every attention layer and head, and every MLP layer, each pushed straight through the final norm
(its scale frozen at the clean run) and the unembedding. The final norm's bias (and the head's bias) is its
own term, so the parts add up to the model's own logit."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from interp_core.budgets import budgets
from interp_core.components.frozen_norm import freeze
from interp_core.engine.hooks import Intervention
from interp_core.engine.model import LoadedModel
from interp_core.engine.sites import Site
from interp_core.errors import UserError
from interp_core.engine.placement import module_device

DLA_COLUMNS = ["component", "kind", "layer", "head", "value"]
FROZEN_NOTE = ("The final norm's scale is frozen at its value on the clean run, so each component's direct "
               "effect is linear; the norm's bias (and any unembedding bias) is shown as its own bar.")


@dataclass(frozen=True)
class DirectLogitAttribution:
    """Direct contributions (floats) to logit[target] − logit[foil] at `position`."""

    model: str
    tokens: tuple[str, ...]
    position: int
    target: str
    foil: str | None
    embed: float
    attn: np.ndarray  # (L,) each attention layer as added to the residual stream
    heads: np.ndarray  # (L, H) each head's share of its layer (the layer's output bias is attn − Σ heads)
    mlp: np.ndarray  # (L,)
    norm_bias: float  # final norm bias + unembedding bias
    actual: float  # the model's own logit (difference) at the position (before any soft-capping)
    norm_scale: float  # the frozen 1/σ or 1/rms of the final norm
    softcapped: bool  # the model soft-caps its logits; attribution is of the logit before capping
    note: str = FROZEN_NOTE

    @property
    def total(self) -> float:
        return float(self.embed + self.attn.sum() + self.mlp.sum() + self.norm_bias)

    @property
    def label(self) -> str:
        return f"logit[{self.target!r}]" + (f" − logit[{self.foil!r}]" if self.foil is not None else "")

    def layer_frame(self) -> pd.DataFrame:
        """Embedding, then attention and MLP of each layer in order, then the norm term: a waterfall's rows."""
        rows = [("embed", "embed", -1, self.embed)]
        for lay in range(len(self.attn)):
            rows += [(f"attn {lay}", "attn", lay, float(self.attn[lay])), (f"mlp {lay}", "mlp", lay, float(self.mlp[lay]))]
        rows.append(("final norm bias", "norm", len(self.attn), self.norm_bias))
        return pd.DataFrame(rows, columns=["component", "kind", "layer", "value"])

    def frame(self) -> pd.DataFrame:
        """DLA_COLUMNS: the layer terms, then every head (head = -1 for non-head rows)."""
        base = self.layer_frame().assign(head=-1)
        h = [(f"L{lay}H{hd}", "head", lay, hd, float(self.heads[lay, hd]))
             for lay in range(self.heads.shape[0]) for hd in range(self.heads.shape[1])]
        return pd.concat([base[DLA_COLUMNS], pd.DataFrame(h, columns=DLA_COLUMNS)], ignore_index=True)

    def to_dict(self) -> dict:
        return {"model": self.model, "tokens": list(self.tokens), "position": self.position,
                "token": self.tokens[self.position], "target": self.target, "foil": self.foil, "label": self.label,
                "embed": self.embed, "attn": self.attn.tolist(), "heads": self.heads.tolist(), "mlp": self.mlp.tolist(),
                "norm_bias": self.norm_bias, "total": self.total, "actual": self.actual,
                "norm_scale": self.norm_scale, "softcapped": self.softcapped, "note": self.note}


def check_dla_supported(lm: LoadedModel) -> None:
    a = lm.adapter
    if a.masked_lm:
        raise UserError("Direct logit attribution is not available for this model: an encoder's post-norm blocks "
                        "renormalise the residual stream after every layer, so its logits do not split into layer terms.")
    if not a.has_lm_head or a.final_norm_module() is None:
        raise UserError("Direct logit attribution is not available for this model: it needs an LM head and a final norm.")


def _split_heads(o_proj, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-head outputs (H, D) of the output projection and its bias (D,), from z (H, Dh) at one position."""
    h, dh = z.shape
    rows = torch.zeros(h + 1, h, dh, dtype=z.dtype, device=z.device)  # row i keeps head i only; the last is all zero
    idx = torch.arange(h, device=z.device)
    rows[idx, idx] = z
    out = o_proj(rows.reshape(h + 1, h * dh)).float()  # (H+1, D)
    return out[:h] - out[h], out[h]


def direct_logit_attribution(lm: LoadedModel, prompt: str, target: str | None, *, foil: str | None = None,
                             position: int = -1,
                             interventions: Mapping[Site, Intervention] | None = None) -> DirectLogitAttribution:
    """DLA of `target` (minus `foil`) at `position` (negative counts from the end) of `prompt`.

    target None or empty: the model's own top prediction at that position."""
    check_dla_supported(lm)
    a = lm.adapter
    enc = lm.encode(prompt)
    t = len(enc.tokens)
    budgets().attention_tokens.check(t)
    if not -t <= position < t:
        raise UserError(f"Position {position} is out of range; the prompt has {t} tokens (0–{t - 1}).")
    pos = position % t
    tid = lm.token_id(target) if target else None
    fid = lm.token_id(foil) if foil else None
    foil = foil or None
    n = a.n_layers
    sites = [Site("resid", 0), Site("resid", n)]
    for lay in range(n):
        sites += [Site("attn_out", lay), Site("attn_heads", lay), Site("mlp_out", lay)]
    # no LM head over every position (262k-wide for Gemma): the one position's logits are computed below
    res = lm.run(enc.input_ids, capture=sites, interventions=interventions, need_logits=False)
    c = {s: v[0, pos] for s, v in res.cache.items()}  # site -> (D,) or (H, Dh) at the position
    norm, head = a.final_norm_module(), a.unembed_module()
    assert norm is not None and head is not None  # check_dla_supported: a decoder with a final norm and LM head
    with torch.inference_mode():  # (V,) the model's logits here, before any soft-capping; split models: each
        normed = norm(c[Site("resid", n)].to(module_device(norm)))  # module's device
        raw = head(normed.to(module_device(head)))
    if tid is None:
        tid = int(a.finish_logits(raw).argmax())
        target = lm.token_strings([tid])[0]
    assert target is not None
    with torch.inference_mode():
        fn = freeze(a.final_norm_module(), c[Site("resid", n)])
        w_u = a.unembed_matrix()
        direction = w_u[tid].float() - (w_u[fid].float() if fid is not None else 0.0)  # (D,)
        head_bias = getattr(a.unembed_module(), "bias", None)

        def dot(x: torch.Tensor) -> torch.Tensor:  # decoded on the unembedding's device (split models)
            return fn.apply(x.to(direction.device)) @ direction

        embed = float(dot(c[Site("resid", 0)]))
        attn = np.array([float(dot(c[Site("attn_out", lay)])) for lay in range(n)])
        mlp = np.array([float(dot(c[Site("mlp_out", lay)])) for lay in range(n)])
        heads = np.zeros((n, a.n_heads))
        for lay in range(n):
            per_head, bias = _split_heads(a.attn_o_proj(lay), c[Site("attn_heads", lay)])
            post = a.attn_post_norm(lay)
            if post is not None:  # Gemma 2/3: the sublayer's own norm, its scale frozen the same way
                per_head = freeze(post, per_head.sum(0) + bias).apply(per_head)
            heads[lay] = dot(per_head).cpu().numpy()
        bias_term = float(fn.bias @ direction)
        if head_bias is not None:
            bias_term += float(head_bias[tid]) - (float(head_bias[fid]) if fid is not None else 0.0)
        softcapped = not a.finish_is_identity()  # HF caps its logits; the attribution is of the logit before the cap
        actual = float(raw[tid]) - (float(raw[fid]) if fid is not None else 0.0)
    return DirectLogitAttribution(lm.spec.name, enc.tokens, pos, target, foil, embed, attn, heads, mlp, bias_term,
                                  actual, fn.scale, softcapped)
