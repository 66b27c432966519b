"""What a feature writes: its decoder row, carried to the residual stream when the SAE lives before a projection
(attention heads' z, MLP neurons), with the post-norm on that path (Gemma 2/3) for the caller's normed variant."""
from __future__ import annotations

import torch

from interp_core.engine.model import LoadedModel
from interp_core.engine.sites import Site
from interp_core.errors import UserError
from interp_core.features.store import load_sae, sites_of


def feature_write(lm: LoadedModel, site: Site, i: int) -> tuple[torch.Tensor, torch.nn.Module | None]:
    """((D,) what a unit of latent i of the SAE site adds to the residual stream, the norm on its path or None)."""
    sae = load_sae(site.sae or "")
    base, out = sites_of(sae)
    target = out or base
    a = lm.adapter
    with torch.inference_mode():
        vec = sae.decoder_direction(i).float().to(lm.device)  # (D_out,)
        if target.kind in ("resid", "mlp_out", "attn_out"):
            return vec, None
        if target.kind in ("attn_heads", "mlp_neurons"):
            proj = a.attn_o_proj(target.layer) if target.kind == "attn_heads" else a.mlp_down_proj(target.layer)  # type: ignore[arg-type]
            dtype = next(proj.parameters()).dtype
            rows = torch.stack([vec, torch.zeros_like(vec)]).to(dtype)  # (2, D_out): the row plus the bias, the bias
            o = proj(rows).float()
            post = a.attn_post_norm(target.layer) if target.kind == "attn_heads" else a.mlp_post_norm(target.layer)  # type: ignore[arg-type]
            return o[0] - o[1], post
    raise UserError(f"An SAE on {target} writes nothing to the residual stream directly.")


def feature_direction(lm: LoadedModel, sae_id: str, i: int) -> tuple[torch.Tensor, str, str]:
    """A steering direction from feature i of an SAE: ((D,) float32 CPU vector in the residual stream, a label, the
    site it is written at). The steering room's source registry wraps it as a Direction."""
    from interp_core.features.store import attach

    site, sae = attach(lm, sae_id)
    vec, _ = feature_write(lm, site, i)
    base, out = sites_of(sae)
    return vec.float().cpu(), f"SAE {sae_id} feature {i} (decoder row)", str(out or base)
