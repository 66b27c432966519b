"""What an ablation returns: clean vs ablated predictions at a position, generations, self-repair, sweeps."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from interp_core.ablation.interventions import Ablation

SWEEP_COLUMNS = ["layer", "head", "scale", "kl", "target_prob_clean", "target_prob_ablated", "target_prob_delta",
                 "target_logit_delta", "target_rank_ablated", "top_token_ablated", "top_prob_ablated"]



def _delta(ablated: float | None, clean: float | None) -> float | None:
    """ablated - clean, or None without a target (both are None together)."""
    return None if clean is None or ablated is None else ablated - clean

@dataclass(frozen=True)
class TokenProb:
    token: str
    token_id: int
    prob: float
    logit: float


@dataclass(frozen=True)
class Side:
    """One run's next-token distribution at one position: top-k and the target token's standing."""

    top: tuple[TokenProb, ...]
    target_prob: float | None = None
    target_logit: float | None = None
    target_rank: int | None = None  # 1 = the most likely token

    def to_dict(self) -> dict:
        return {"top": [{"token": t.token, "prob": t.prob, "logit": t.logit} for t in self.top],
                "target_prob": self.target_prob, "target_logit": self.target_logit, "target_rank": self.target_rank}


@dataclass(frozen=True)
class Comparison:
    """Clean vs ablated at one prediction position. kl = KL(clean ‖ ablated) in nats."""

    position: int
    token: str  # the input token there (decoders: the last prompt token; BERT: [MASK])
    clean: Side
    ablated: Side
    kl: float

    @property
    def target_prob_delta(self) -> float | None:
        c, a = self.clean.target_prob, self.ablated.target_prob
        return None if c is None or a is None else a - c

    @property
    def target_logit_delta(self) -> float | None:
        c, a = self.clean.target_logit, self.ablated.target_logit
        return None if c is None or a is None else a - c

    def frame(self) -> pd.DataFrame:
        """Top-k side by side: rank, clean token/prob, ablated token/prob."""
        rows = []
        for i in range(max(len(self.clean.top), len(self.ablated.top))):
            c = self.clean.top[i] if i < len(self.clean.top) else None
            a = self.ablated.top[i] if i < len(self.ablated.top) else None
            rows.append({"rank": i + 1, "clean_token": c and c.token, "clean_prob": c and c.prob,
                         "ablated_token": a and a.token, "ablated_prob": a and a.prob})
        return pd.DataFrame(rows, columns=["rank", "clean_token", "clean_prob", "ablated_token", "ablated_prob"])


@dataclass(frozen=True)
class SelfRepair:
    """Direct effect: remove the component's change from the final residual stream only (downstream as in the
    clean run). Total effect: re-run everything downstream. Both measured as the change in the target logit."""

    target: str
    clean_logit: float
    direct_logit: float
    total_logit: float
    metric: str = "target logit change (ablated − clean)"

    @property
    def direct_effect(self) -> float:
        return self.direct_logit - self.clean_logit

    @property
    def total_effect(self) -> float:
        return self.total_logit - self.clean_logit

    @property
    def ratio(self) -> float | None:
        """total / direct; well below 1 means later layers compensated (None when the direct effect is ~0)."""
        d = self.direct_effect
        return None if abs(d) < 1e-6 else self.total_effect / d

    def to_dict(self) -> dict:
        return {"target": self.target, "metric": self.metric, "clean_logit": self.clean_logit,
                "direct_logit": self.direct_logit, "total_logit": self.total_logit,
                "direct_effect": self.direct_effect, "total_effect": self.total_effect, "ratio": self.ratio}


@dataclass(frozen=True)
class AblationResult:
    ablation: Ablation
    model: str
    tokens: tuple[str, ...]
    positions: tuple[int, ...] | None  # ablated prompt positions; None = all
    target: str | None
    comparisons: tuple[Comparison, ...]  # one per prediction position
    generation_clean: tuple[str, ...] = ()
    generation_ablated: tuple[str, ...] = ()
    first_divergence: int | None = None
    alignment: tuple[dict, ...] = ()  # patch: clean position -> counterfactual position
    reference: str | None = None  # "name (N tokens)" for mean / median / noise
    self_repair: SelfRepair | None = None

    @property
    def main(self) -> Comparison:
        return self.comparisons[0]

    def frame(self) -> pd.DataFrame:
        """Clean vs ablated top-k at the main prediction position."""
        return self.main.frame()

    def generation_frame(self) -> pd.DataFrame:
        n = max(len(self.generation_clean), len(self.generation_ablated))
        rows = []
        for i in range(n):
            c = self.generation_clean[i] if i < len(self.generation_clean) else None
            a = self.generation_ablated[i] if i < len(self.generation_ablated) else None
            rows.append({"step": i, "clean": c, "ablated": a, "same": c == a,
                         "first_divergence": i == self.first_divergence})
        return pd.DataFrame(rows, columns=["step", "clean", "ablated", "same", "first_divergence"])

    def to_dict(self) -> dict:
        m = self.main
        out: dict[str, Any] = {
            "model": self.model, "ablation": self.ablation.label(), "tokens": list(self.tokens),
            "ablated_positions": "all" if self.positions is None else list(self.positions),
            "position": m.position, "target": self.target,
            "clean": {**m.clean.to_dict(), "generation": list(self.generation_clean)},
            "ablated": {**m.ablated.to_dict(), "generation": list(self.generation_ablated)},
            "kl": m.kl, "target_prob_delta": m.target_prob_delta, "target_logit_delta": m.target_logit_delta,
            "first_divergence": self.first_divergence,
        }
        if len(self.comparisons) > 1:
            out["mask_positions"] = [{"position": c.position, "clean": c.clean.to_dict(), "ablated": c.ablated.to_dict(),
                                      "kl": c.kl, "target_prob_delta": c.target_prob_delta} for c in self.comparisons]
        if self.alignment:
            out["alignment"] = list(self.alignment)
        if self.reference:
            out["reference"] = self.reference
        if self.self_repair is not None:
            out.update(self.self_repair.to_dict())
        return out


@dataclass(frozen=True)
class SweepPoint:
    layer: int | None
    head: int | None
    scale: float | None
    ablated: Side
    kl: float


@dataclass(frozen=True)
class AblationSweep:
    kind: str  # "layers" | "heads" | "scale"
    ablation: Ablation
    model: str
    tokens: tuple[str, ...]
    position: int
    target: str | None
    clean: Side
    points: tuple[SweepPoint, ...] = field(default=())

    def frame(self) -> pd.DataFrame:
        rows = []
        for p in self.points:
            tp_c, tp_a = self.clean.target_prob, p.ablated.target_prob
            rows.append({
                "layer": p.layer, "head": p.head, "scale": p.scale, "kl": p.kl,
                "target_prob_clean": tp_c, "target_prob_ablated": tp_a,
                "target_prob_delta": _delta(tp_a, tp_c),
                "target_logit_delta": None if tp_c is None else _delta(p.ablated.target_logit, self.clean.target_logit),
                "target_rank_ablated": p.ablated.target_rank,
                "top_token_ablated": p.ablated.top[0].token, "top_prob_ablated": p.ablated.top[0].prob,
            })
        return pd.DataFrame(rows, columns=SWEEP_COLUMNS)

    def label(self) -> str:
        """What was swept, naming the site actually hooked (a heads sweep hooks each head, whatever the form's site)."""
        ab = self.ablation
        how = {"scale": f"scale ×{ab.scale:g}", "noise": f"noise σ={ab.noise_std:g}×std"}.get(ab.method, ab.method)
        pos = ab.positions if isinstance(ab.positions, str) else "positions " + ",".join(map(str, ab.positions))
        if self.kind == "heads":
            return f"{how} at each attention head of every layer, one at a time ({pos})"
        if self.kind == "layers":
            return ab.label().replace(f"{ab.site} {ab.layer}", f"{ab.site} of each layer", 1)
        values = ", ".join(f"{p.scale:g}" for p in self.points)
        return ab.at(method="scale").label().replace(f"scale ×{ab.scale:g}", f"scale × ({values})", 1)

    def to_dict(self) -> dict:
        recs = []
        for p in self.points:
            recs.append({"layer": p.layer, "head": p.head, "scale": p.scale, "clean": self.clean.to_dict(),
                         "ablated": p.ablated.to_dict(), "kl": p.kl,
                         "target_prob_delta": _delta(p.ablated.target_prob, self.clean.target_prob)})
        return {"model": self.model, "sweep": self.kind, "ablation": self.label(), "tokens": list(self.tokens),
                "position": self.position, "target": self.target, "records": recs}
