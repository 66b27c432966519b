"""An SAE spliced into the model: its reconstruction replaces the activation at the site it reads, with or without
its error term (with it, the model is unchanged up to rounding; without it, the model runs on what the SAE keeps)."""
from __future__ import annotations

import torch

from interp_core.engine.hooks import Intervention
from interp_core.engine.model import LoadedModel
from interp_core.engine.sites import Site
from interp_core.errors import UserError
from interp_core.features.sae import SAE
from interp_core.features.store import attach, sites_of


def reconstruction(sae: SAE, base: Site, keep_error: bool = False) -> dict[Site, Intervention]:
    """{base site: x -> the SAE's reconstruction of x (+ x minus it when keep_error)} for `lm.run(interventions=...)`."""
    def fn(x: torch.Tensor) -> torch.Tensor:  # (B, T, D) or heads (B, T, H, Dh)
        flat = x.flatten(2) if x.dim() > 3 else x
        rec = sae.to(flat.device).decode(sae.encode(flat), flat).to(flat.dtype)  # (B, T, D)
        out = rec + (flat - rec) if keep_error else rec
        return out.view(x.shape)
    return {base: fn}


def splice(lm: LoadedModel, sae_id: str, keep_error: bool = False) -> dict[Site, Intervention]:
    """The interventions that splice the SAE `sae_id` into `lm` (plain SAEs; a transcoder replaces a sublayer)."""
    _, sae = attach(lm, sae_id)
    base, out = sites_of(sae)
    if out is not None:
        raise UserError("Splicing a transcoder in place of its MLP is not supported; splice an SAE.")
    return reconstruction(sae, base, keep_error)


def next_token_loss(logits: torch.Tensor, ids: torch.Tensor, first: int = 0) -> torch.Tensor:
    """Mean next-token cross-entropy of logits (B, T, V) on ids (B, T), predicting from position `first` on."""
    lp = torch.log_softmax(logits[:, first:-1].float(), dim=-1)  # (B, T-1-first, V)
    return -lp.gather(-1, ids[:, first + 1:, None]).mean()
