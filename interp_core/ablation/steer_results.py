"""What steering returns: clean vs steered next-token predictions and continuations, and a strength sweep."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from interp_core.ablation.directions import Direction
from interp_core.ablation.results import Side
from interp_core.ablation.steer import Steer


@dataclass(frozen=True)
class Continuation:
    """One generated continuation: its tokens and their mean log-probability under the clean model."""

    tokens: tuple[str, ...] = ()
    coherence: float | None = None  # mean log p(token | prefix) under the clean model, nats; None if nothing generated

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    def to_dict(self) -> dict:
        return {"tokens": list(self.tokens), "text": self.text, "coherence": self.coherence}


@dataclass(frozen=True)
class SteerResult:
    steer: Steer
    direction: Direction
    model: str
    tokens: tuple[str, ...]  # the prompt
    position: int  # where next-token predictions are compared
    site: str  # canonical hook site, e.g. "resid.6"
    typical_norm: float  # mean ‖activation‖ at the site over the prompt's non-special tokens
    added_norm: float  # ‖α·v‖ as added at each steered position
    targets: tuple[str, ...]
    clean: Side
    steered: Side
    clean_target_probs: tuple[float, ...]
    steered_target_probs: tuple[float, ...]
    kl: float  # KL(clean ‖ steered) at `position`, nats
    generation_clean: Continuation = Continuation()
    generation_steered: Continuation = Continuation()
    first_divergence: int | None = None
    sampling: dict | None = None  # {"temperature", "seed"}; None = greedy

    def frame(self) -> pd.DataFrame:
        """Top-k side by side: rank, clean token/prob, steered token/prob."""
        rows = []
        for i in range(max(len(self.clean.top), len(self.steered.top))):
            c = self.clean.top[i] if i < len(self.clean.top) else None
            s = self.steered.top[i] if i < len(self.steered.top) else None
            rows.append({"rank": i + 1, "clean_token": c and c.token, "clean_prob": c and c.prob,
                         "steered_token": s and s.token, "steered_prob": s and s.prob})
        return pd.DataFrame(rows, columns=["rank", "clean_token", "clean_prob", "steered_token", "steered_prob"])

    def generation_frame(self) -> pd.DataFrame:
        c, s = self.generation_clean.tokens, self.generation_steered.tokens
        rows = [{"step": i, "clean": c[i] if i < len(c) else None, "steered": s[i] if i < len(s) else None,
                 "same": i < len(c) and i < len(s) and c[i] == s[i],
                 "diverged": self.first_divergence is not None and i >= self.first_divergence}
                for i in range(max(len(c), len(s)))]
        return pd.DataFrame(rows, columns=["step", "clean", "steered", "same", "diverged"])

    def to_dict(self) -> dict:
        return {
            "model": self.model, "steer": self.steer.label(), "site": self.site, "layer": self.steer.layer,
            "alpha": self.steer.alpha, "alpha_unit": self.steer.alpha_unit, "positions": self.steer.positions,
            "typical_norm": self.typical_norm, "added_norm": self.added_norm, "direction": self.direction.to_dict(),
            "tokens": list(self.tokens), "position": self.position, "targets": list(self.targets), "kl": self.kl,
            "clean": {**self.clean.to_dict(), "target_probs": dict(zip(self.targets, self.clean_target_probs)),
                      "generation": self.generation_clean.to_dict()},
            "steered": {**self.steered.to_dict(), "target_probs": dict(zip(self.targets, self.steered_target_probs)),
                        "generation": self.generation_steered.to_dict()},
            "first_divergence": self.first_divergence, "sampling": self.sampling,
        }


@dataclass(frozen=True)
class SteerPoint:
    """One strength of a sweep: the next-token distribution, the targets' probabilities and the continuation."""

    alpha: float
    added_norm: float
    side: Side
    target_probs: tuple[float, ...]
    generation: Continuation
    first_divergence: int | None


@dataclass(frozen=True)
class SteerSweep:
    steer: Steer  # alpha here is unused: the points carry theirs (in steer.alpha_unit)
    direction: Direction
    model: str
    tokens: tuple[str, ...]
    position: int
    site: str
    typical_norm: float
    targets: tuple[str, ...]
    clean: Side
    clean_target_probs: tuple[float, ...]
    generation_clean: Continuation
    points: tuple[SteerPoint, ...]
    sampling: dict | None = None

    def frame(self) -> pd.DataFrame:
        """One row per (α, target): the long form the chart draws (target probability against α)."""
        rows = []
        for i, p in enumerate(self.points):
            for t, prob in zip(self.targets, p.target_probs):
                rows.append({"point": i, "alpha": p.alpha, "added_norm": p.added_norm, "target": t, "prob": prob,
                             "top_token": p.side.top[0].token, "coherence": p.generation.coherence,
                             "generation": p.generation.text})
        return pd.DataFrame(rows, columns=["point", "alpha", "added_norm", "target", "prob", "top_token", "coherence",
                                           "generation"])

    def to_dict(self) -> dict:
        return {
            "model": self.model, "sweep": "alpha", "steer": self.steer.label(), "site": self.site,
            "layer": self.steer.layer, "alpha_unit": self.steer.alpha_unit, "typical_norm": self.typical_norm,
            "direction": self.direction.to_dict(), "tokens": list(self.tokens), "position": self.position,
            "targets": list(self.targets), "sampling": self.sampling,
            "clean": {**self.clean.to_dict(), "target_probs": dict(zip(self.targets, self.clean_target_probs)),
                      "generation": self.generation_clean.to_dict()},
            "records": [{"alpha": p.alpha, "added_norm": p.added_norm, "top": p.side.to_dict()["top"],
                         "target_probs": dict(zip(self.targets, p.target_probs)),
                         "generation": p.generation.to_dict(), "first_divergence": p.first_divergence}
                        for p in self.points],
        }
