"""Direct logit attribution at one position of a prompt: every layer's, head's and MLP's direct contribution to
a target's logit (optionally minus a foil's)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from interp_core.results import Progress

from .base import Key, PageJob, model_id

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.components import DirectLogitAttribution


@dataclass(frozen=True)
class DlaKey(Key):
    """An empty target is the model's top prediction at `position`, an empty foil none."""

    prompt: str
    position: int
    target: str = ""
    foil: str = ""


def dla_key(lm: LoadedModel, prompt: str, position: int, target: str = "", foil: str = "") -> DlaKey:
    return DlaKey(model_id(lm), prompt, int(position), target, foil)


class DlaJob(PageJob[DlaKey, "DirectLogitAttribution"]):
    slot = "ll_dla"  # the lens page's; a section drawn under another prefix passes its own slot
    shared = True

    def compute(self, lm: LoadedModel, key: DlaKey, progress: Progress | None = None) -> DirectLogitAttribution:
        from interp_core.components import direct_logit_attribution

        return direct_logit_attribution(lm, key.prompt, key.target or None, foil=key.foil or None,
                                        position=key.position)


DLA = DlaJob()
