"""Named sizes for the seed method, each with its estimate; the default is the largest that fits the budget."""
from __future__ import annotations

from dataclasses import dataclass

from interp_core.estimates import Estimate, estimate, seed_flops
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

DEFAULT_BUDGET_S = 10.0


@dataclass(frozen=True)
class SeedPreset:
    name: str
    label: str
    samples: int
    batch_size: int
    seq_len: int

    @property
    def tokens(self) -> int:
        return self.samples * self.batch_size * self.seq_len


SEED_PRESETS: dict[str, SeedPreset] = {p.name: p for p in (
    SeedPreset("quick", "Quick look (16 × 8 × 64)", 16, 8, 64),  # ≈ 8k tokens: under 10 s on a 2-core CPU (Gemma 270M)
    SeedPreset("standard", "Standard (100 × 16 × 128)", 100, 16, 128),
    SeedPreset("paper", "The seed paper's full protocol (1,000 × 32 × 256)", 1000, 32, 256),
)}


def preset_estimates(lm: LoadedModel, layer: int) -> dict[str, Estimate]:
    """Each preset's estimated run time at a site whose last block is `layer` on this model, device and dtype."""
    return {name: estimate(lm, "seed", seed_flops(lm.info, p.samples, p.batch_size, p.seq_len, layer))
            for name, p in SEED_PRESETS.items()}


def default_preset(lm: LoadedModel, layer: int, budget_s: float = DEFAULT_BUDGET_S) -> SeedPreset:
    """The largest preset estimated to finish within `budget_s` (the quick one when none does)."""
    est = preset_estimates(lm, layer)
    fits = [SEED_PRESETS[n] for n in SEED_PRESETS if est[n].seconds <= budget_s]
    return max(fits, key=lambda p: p.tokens) if fits else SEED_PRESETS["quick"]
