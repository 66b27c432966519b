"""Honest run-time estimates for the pages: work counted in floating-point operations, divided by the rate the
last run of the same kind on the same model actually achieved in this server process (a conservative prior
until one has run). Pages auto-run only what fits AUTO_BUDGET_S and show the estimate of anything above
CONFIRM_OVER_S before it starts."""
from __future__ import annotations

import threading
from interp_core.estimates import fmt_seconds, forward_flops  # noqa: F401  (pages count work through ui.costs)

AUTO_BUDGET_S = 2.0  # a page open (or a link) runs at most this much work without a click
CONFIRM_OVER_S = 10.0  # longer runs show their estimate next to their button
PRIOR_FLOPS_PER_S = 10e9  # a 2-core CPU on short sequences; replaced by the measured rate of the kind
PRIORS = {"seed": 20e9, "scan": 20e9}  # large batches run several times faster per FLOP

_LOCK = threading.Lock()
_RATES: dict[tuple[str, str], float] = {}  # (model identity, kind) -> measured FLOP/s of the last run


def estimate_s(model: str, kind: str, flops: float) -> float:
    """Seconds `flops` of work of this kind should take on this model, from the last measured rate."""
    with _LOCK:
        rate = _RATES.get((model, kind)) or PRIORS.get(kind, PRIOR_FLOPS_PER_S)
    return flops / rate


def record(model: str, kind: str, flops: float, seconds: float) -> None:
    """Remember the rate a finished run achieved (runs shorter than 50 ms say nothing reliable)."""
    if flops > 0 and seconds > 0.05:
        with _LOCK:
            _RATES[(model, kind)] = flops / seconds


def measured(model: str, kind: str) -> bool:
    with _LOCK:
        return (model, kind) in _RATES


