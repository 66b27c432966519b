"""Honest run-time estimates for the pages: work counted in floating-point operations, divided by the rate that
runs of the same kind on the same model actually achieved in this server process (the median of the latest
few, time queued behind other sessions left out; a conservative prior until one has run). Pages auto-run only what fits AUTO_BUDGET_S and show the estimate of anything above
CONFIRM_OVER_S before it starts."""
from __future__ import annotations

import threading
from collections import deque
from statistics import median
from interp_core.estimates import fmt_seconds, forward_flops  # noqa: F401  (pages count work through ui.costs)

AUTO_BUDGET_S = 2.0  # a page open (or a link) runs at most this much work without a click
CONFIRM_OVER_S = 10.0  # longer runs show their estimate next to their button
PRIOR_FLOPS_PER_S = 10e9  # a 2-core CPU on short sequences; replaced by the measured rate of the kind
PRIORS = {"seed": 20e9, "scan": 20e9}  # large batches run several times faster per FLOP

_LOCK = threading.Lock()
KEEP_RATES = 5  # the estimate uses the median of this many latest runs: one run slowed by a busy machine moves it little
_RATES: dict[tuple[str, str], deque[float]] = {}  # (model identity, kind) -> measured FLOP/s of the latest runs


def estimate_s(model: str, kind: str, flops: float) -> float:
    """Seconds `flops` of work of this kind should take on this model, from the median measured rate."""
    with _LOCK:
        rates = _RATES.get((model, kind))
        rate = median(rates) if rates else PRIORS.get(kind, PRIOR_FLOPS_PER_S)
    return flops / rate


def record(model: str, kind: str, flops: float, seconds: float) -> None:
    """Remember the rate a finished run achieved, `seconds` being its working time (without waits in a queue);
    runs shorter than 50 ms say nothing reliable."""
    if flops > 0 and seconds > 0.05:
        with _LOCK:
            _RATES.setdefault((model, kind), deque(maxlen=KEEP_RATES)).append(flops / seconds)


def measured(model: str, kind: str) -> bool:
    with _LOCK:
        return (model, kind) in _RATES
