"""Input and work budgets shared by the CLI and the pages, so one person cannot stall a workshop server.

Each limit has a default and an environment variable; a refusal is one sentence naming the limit and the
setting that raises it. Checks run before any model work starts, so nothing is half-done. Some limits are
tighter in workshop mode (LOOKING_GLASS_WORKSHOP=1 or LOOKING_GLASS_WORKSHOP_MODELS set): a shared server.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields

from interp_core.errors import UserError
from interp_core.settings import load_settings


@dataclass(frozen=True)
class Budget:
    """One limit: its value, the environment variable that sets it and what it counts."""

    name: str
    env: str
    default: int
    what: str  # e.g. "prompt tokens for the logit lens"
    workshop_default: int | None = None  # the default on a workshop server, when tighter

    @property
    def value(self) -> int:
        default = self.default
        if self.workshop_default is not None and load_settings().workshop:
            default = self.workshop_default
        raw = os.environ.get(self.env, "")
        try:
            v = int(raw) if raw.strip() else default
        except ValueError:
            v = default
        return max(1, v)

    def check(self, n: int) -> None:
        """Raise a UserError when n exceeds the limit (0 or negative n always passes)."""
        limit = self.value
        if n > limit:
            raise UserError(f"That is {n:,} {self.what}; the limit is {limit:,} (setting {self.env}).")


@dataclass(frozen=True)
class Budgets:
    """Every budget by name; `budgets().lens_tokens.check(n)`."""

    lens_tokens: Budget = Budget("lens_tokens", "LOOKING_GLASS_MAX_LENS_TOKENS", 512, "prompt tokens for the logit lens")
    ablation_tokens: Budget = Budget("ablation_tokens", "LOOKING_GLASS_MAX_ABLATION_TOKENS", 512,
                                     "prompt tokens for an ablation")
    patching_tokens: Budget = Budget("patching_tokens", "LOOKING_GLASS_MAX_PATCHING_TOKENS", 128,
                                     "prompt tokens for activation patching")
    attention_tokens: Budget = Budget("attention_tokens", "LOOKING_GLASS_MAX_ATTENTION_TOKENS", 512,
                                      "prompt tokens for attention patterns and attribution")
    flow_tokens: Budget = Budget("flow_tokens", "LOOKING_GLASS_MAX_FLOW_TOKENS", 512,
                                 "prompt tokens for the information flow graph")
    generate_tokens: Budget = Budget("generate_tokens", "LOOKING_GLASS_MAX_GENERATE_TOKENS", 64, "generated tokens")
    sweep_points: Budget = Budget("sweep_points", "LOOKING_GLASS_MAX_SWEEP_POINTS", 2048,
                                  "interventions in one sweep or grid")
    histogram_tokens: Budget = Budget("histogram_tokens", "LOOKING_GLASS_MAX_HISTOGRAM_TOKENS", 20_000,
                                      "tokens for activation distributions")
    scan_tokens: Budget = Budget("scan_tokens", "LOOKING_GLASS_MAX_SCAN_TOKENS", 50_000_000,
                                 "corpus tokens for one scan", workshop_default=2_000_000)
    seed_tokens: Budget = Budget("seed_tokens", "LOOKING_GLASS_MAX_SEED_TOKENS", 10_000_000,
                                 "tokens for one seed-method run",
                                 workshop_default=1000 * 32 * 256)  # the published protocol fits, no more

    def all(self) -> list[Budget]:
        return [getattr(self, f.name) for f in fields(self)]


def budgets() -> Budgets:
    return Budgets()
