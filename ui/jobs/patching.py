"""'Which components matter?' jobs: an exact activation-patching grid, the attribution-patching screen, and
exact patches of chosen components beside their attribution estimates."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from interp_core.results import Progress

from .base import LONG, Key, PageJob, context

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.patching import Attribution, Component, Checked, PatchGrid


@dataclass(frozen=True)
class PairKey(Key):
    """A clean / corrupted prompt pair, the answer and its foil, the metric, and whether to align from the end."""

    clean: str
    corrupt: str
    target: str
    foil: str | None
    metric: str
    align: str


@dataclass(frozen=True)
class GridKey(PairKey):
    grid: str = "resid"


class GridJob(PageJob[GridKey, "PatchGrid"]):
    """One patched run per cell of a (layer × position or head) grid, batched."""

    slot = "pt_grid"
    kind = LONG

    def compute(self, lm: LoadedModel, key: GridKey, progress: Progress | None = None) -> PatchGrid:
        from interp_core.patching import patch_grid

        return patch_grid(lm, key.clean, key.corrupt, key.target, key.foil, grid=key.grid, metric=key.metric,
                          align=key.align, progress=progress)


class AttributionJob(PageJob[PairKey, "Attribution"]):
    """Every head, neuron and cell estimated at once: two forward passes and one backward."""

    slot = "pt_attr"

    def compute(self, lm: LoadedModel, key: PairKey, progress: Progress | None = None) -> Attribution:
        from interp_core.patching import attribute

        return attribute(lm, key.clean, key.corrupt, key.target, key.foil, metric=key.metric, align=key.align,
                         progress=progress)


@dataclass(frozen=True)
class CheckKey(PairKey):
    """The exact patch of one component, beside its estimate in `attribution`."""

    component: str = ""  # repr of the Component (the key); the Component itself is context
    comp: Any = context()
    attribution: Any = context()


class CheckJob(PageJob[CheckKey, "Checked"]):
    slot = "pt_check"

    def compute(self, lm: LoadedModel, key: CheckKey, progress: Progress | None = None) -> Checked:
        from interp_core.patching import exact_check

        return exact_check(lm, key.attribution, [key.comp], progress=progress)


@dataclass(frozen=True)
class ScatterKey(PairKey):
    """Exact patches of many components (every head, or the top `n` neurons of every layer)."""

    n: int | None = None
    comps: tuple[Component, ...] = context(())
    attribution: Any = context()


class ScatterJob(PageJob[ScatterKey, "Checked"]):
    slot = "pt_scatter_heads"  # the neurons' scatter passes its own slot
    kind = LONG

    def compute(self, lm: LoadedModel, key: ScatterKey, progress: Progress | None = None) -> Checked:
        from interp_core.patching import exact_check

        return exact_check(lm, key.attribution, list(key.comps), progress=progress)


GRID = GridJob()
ATTRIBUTION = AttributionJob()
CHECK = CheckJob()
SCATTER = ScatterJob()
