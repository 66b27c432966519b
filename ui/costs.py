"""What a page may start without a click, from the one estimator (interp_core.estimates: FLOPs over the median
measured rate of the kind on this model, kept in the cache across restarts). Pages auto-run only what fits
AUTO_BUDGET_S and show the estimate of anything above CONFIRM_OVER_S before it starts."""
from __future__ import annotations

from interp_core import estimates
from interp_core.estimates import fmt_seconds

from .jobs.base import Cost

__all__ = ["AUTO_BUDGET_S", "CONFIRM_OVER_S", "estimate_s", "fmt_seconds", "record"]

AUTO_BUDGET_S = 2.0  # a page open (or a link) runs at most this much work without a click
CONFIRM_OVER_S = 10.0  # longer runs show their estimate next to their button


def estimate_s(cost: Cost) -> float:
    """Seconds this run should take on this model, from the median measured rate of its kind."""
    return estimates.estimate_s(cost.model, cost.kind, cost.flops)


def record(cost: Cost, seconds: float) -> None:
    """Teach the estimator what a finished run achieved (`seconds`: working time, queue waits left out)."""
    estimates.record(cost.model, cost.kind, cost.flops, seconds)
