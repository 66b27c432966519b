"""Hook names as SAE files write them (TransformerLens 'blocks.L.hook_resid_post', HF 'model.layers.L.output') mapped
to the one site vocabulary, and back for the SAEs we save. Gemma Scope's transcoders read the MLP input after the
pre-MLP norm (mlp_in) and write the MLP sublayer's output (mlp_out, after Gemma's post-MLP norm)."""
from __future__ import annotations

import re

from interp_core.engine.sites import Site
from interp_core.errors import UserError

# TransformerLens suffix after 'blocks.L.' -> (site kind, layer offset)
_TL = {
    "hook_resid_post": ("resid", 1),  # first: the name we write for resid L >= 1
    "hook_resid_pre": ("resid", 0),
    "hook_attn_out": ("attn_out", 0),
    "attn.hook_z": ("attn_heads", 0),
    "hook_mlp_out": ("mlp_out", 0),
    "mlp.hook_post": ("mlp_neurons", 0),
    "hook_mlp_in": ("mlp_in", 0),
    "ln2.hook_normalized": ("mlp_in", 0),
}
# HF module path after 'model.layers.L.' (Gemma Scope 2's hf_hook_point_in / _out)
_HF = {
    "input": ("resid", 0),
    "output": ("resid", 1),
    "self_attn.o_proj.input": ("attn_heads", 0),
    "pre_feedforward_layernorm.output": ("mlp_in", 0),
    "post_feedforward_layernorm.output": ("mlp_out", 0),
    "mlp.down_proj.input": ("mlp_neurons", 0),
    "mlp.output": ("mlp_out", 0),
}
# user-facing training sites (sae-lens' words) -> TransformerLens suffix
TRAIN_SITES = {"resid_post": "hook_resid_post", "resid_pre": "hook_resid_pre", "mlp_out": "hook_mlp_out",
               "attn_out": "hook_attn_out"}


def site_of_hook(name: str) -> Site:
    """The site a hook name reads; a UserError naming the hook when we have no such site."""
    m = re.fullmatch(r"blocks\.(\d+)\.(.+)", name) or re.fullmatch(r"(?:model\.)?(?:language_model\.)?layers\.(\d+)\.(.+)", name)
    table = _TL if name.startswith("blocks.") else _HF
    if m and m.group(2) in table:
        kind, offset = table[m.group(2)]
        return Site(kind, int(m.group(1)) + offset)
    raise UserError(f"This SAE was trained on hook '{name}', which Looking Glass has no site for; "
                    f"supported: {', '.join('blocks.L.' + k for k in _TL)}.")


def hook_of_site(site: Site) -> str:
    """The TransformerLens hook name of a site (what an SAE we train records in its cfg.json)."""
    for suffix, (kind, offset) in _TL.items():
        if kind == site.kind and suffix != "ln2.hook_normalized" and site.layer is not None and site.layer - offset >= 0:
            return f"blocks.{site.layer - offset}.{suffix}"
    raise UserError(f"Site {site} has no TransformerLens hook name.")


def train_site(name: str, layer: int) -> Site:
    """A training site given as sae-lens names it ('resid_post', layer L) -> our Site."""
    if name not in TRAIN_SITES:
        raise UserError(f"Unknown SAE training site '{name}'; choose one of {', '.join(TRAIN_SITES)}.")
    return site_of_hook(f"blocks.{layer}.{TRAIN_SITES[name]}")
