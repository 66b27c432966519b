"""Site codecs: an encoder/decoder pair attached to a hook site, so that its latents (an SAE's features) are a site
of their own. `hooked` reads Site('sae', layer, sae=KEY) through the codec registered under KEY: capture encodes
the base site's activation; an intervention edits the latents and adds back only the decoded change, so the SAE's
reconstruction error stays in the model and an unedited run is the clean run."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import torch

from interp_core.engine.sites import Site
from interp_core.errors import UserError


@dataclass(frozen=True, eq=False)
class SiteCodec:
    """What the hooks need of an SAE: where it reads, where its output lands, and how to encode and decode."""

    key: str
    base: Site  # where the latents are read: (B, T, D_in) (attention heads flattened to H*Dh)
    out: Site | None  # transcoders: where their reconstruction lands (the MLP output); None: the base site
    width: int  # F, the number of latents
    encode: Callable[[torch.Tensor], torch.Tensor]  # (..., D_in) -> (..., F)
    decode_delta: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (dz (..., F), x (..., D_in)) -> (..., D_out)
    model: str  # the model it was trained on, as its files name it ('' when unknown)


_REGISTRY: dict[str, SiteCodec] = {}
_LOCK = threading.Lock()


def register(codec: SiteCodec) -> None:
    """Make `codec` the meaning of Site('sae', ..., sae=codec.key) in this process (the last registration wins)."""
    with _LOCK:
        _REGISTRY[codec.key] = codec


def codec_of(site: Site) -> SiteCodec:
    """The codec an SAE site reads through; a UserError when its SAE was never loaded in this process."""
    with _LOCK:
        codec = _REGISTRY.get(site.sae or "")
    if codec is None:
        raise UserError(f"The SAE '{site.sae}' is not loaded; load it first (`python -m interp_core sae load`).")
    return codec


def through_codec(codec: SiteCodec, site: Site, intervention: Callable[[torch.Tensor], torch.Tensor] | None,
                  keep: Callable[[Site, torch.Tensor], None] | None) -> Callable[[torch.Tensor], torch.Tensor]:
    """An intervention on the base site that encodes x, hands the latents (B, T, F) to `intervention` and/or `keep`,
    and returns x plus the decoded change of the latents (x itself when nothing changed)."""
    def fn(x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(2) if x.dim() > 3 else x  # heads (B, T, H, Dh) -> (B, T, H*Dh)
        z = codec.encode(flat)  # (B, T, F)
        new = z if intervention is None else intervention(z)
        if new.shape != z.shape:
            raise ValueError(f"intervention at {site} changed shape {tuple(z.shape)} -> {tuple(new.shape)}")
        if keep is not None:
            keep(site, new)
        if new is z:
            return x
        delta = codec.decode_delta(new.to(z.dtype) - z, flat)  # (B, T, D_in)
        return x + delta.view(x.shape).to(x.dtype)
    return fn
