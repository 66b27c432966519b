"""Patch sources: a site's activation on a counterfactual prompt, tagged with the model it came from,
so it is never spliced into a different model or a site of another width."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from interp_core.errors import UserError
from interp_core.engine.integrity import model_identity
from interp_core.engine.sites import Site
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel


@dataclass(frozen=True, eq=False)
class PatchSource:
    model: str  # integrity.model_identity of the model that produced it
    site: Site
    width: int  # adapter.site_width(site) of that model
    tokens: tuple[str, ...]  # the counterfactual prompt's tokens
    activation: torch.Tensor  # (Tc, *F) on the CPU


def capture_patch(lm: LoadedModel, text: str, sites: Iterable[Site]) -> dict[Site, PatchSource]:
    """Run the counterfactual prompt once and keep every requested site's activation."""
    sites = list(dict.fromkeys(sites))
    enc = lm.encode(text)
    r = lm.run(enc.input_ids, capture=sites, need_logits=False)
    ident = model_identity(lm)
    return {s: PatchSource(ident, s, lm.adapter.site_width(s), enc.tokens, r.cache[s][0].cpu()) for s in sites}


def check_patch(lm: LoadedModel, src: PatchSource, site: Site) -> None:
    """UserError unless `src` was captured from this model at a site of the same kind and width."""
    ident = model_identity(lm)
    if src.model != ident:
        raise UserError(f"The counterfactual activations come from another model ({src.model.split('|')[0]}); "
                        f"re-run the counterfactual prompt on {lm.spec.name}.")
    width = lm.adapter.site_width(site)
    if src.site.kind != site.kind or src.width != width:
        raise UserError(f"The counterfactual activation is for {src.site} (width {src.width}), "
                        f"but the ablation needs {site} (width {width}).")
