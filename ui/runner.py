"""The one way a page runs work: a progress bar and a Cancel button while it runs, the result kept per session
keyed by every input (so going back to earlier inputs is instant), and a notice when the shown result is stale.

A Cancel click reruns the script; Streamlit then raises its stop/rerun signal inside the next progress call,
which unwinds the computation (hooks are removed in `finally`) and nothing is kept.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import streamlit as st

from interp_core.engine.scheduler import SHORT, bind_session, job
from interp_core.results import Progress

from . import costs
from .errors import shown_errors

R = TypeVar("R")
STORE = "_lg_results"
# per browser session; least recently used results go first (LOOKING_GLASS_SESSION_RESULTS_MB, default 256)
MAX_SESSION_BYTES = int(float(os.environ.get("LOOKING_GLASS_SESSION_RESULTS_MB", "") or 256) * 1024 * 1024)


@dataclass(frozen=True)
class Kept(Generic[R]):
    """A kept result and whether it belongs to the current inputs (stale = computed for earlier ones)."""

    result: R
    stale: bool
    inputs: Mapping[str, Any]


def fingerprint(inputs: Mapping[str, Any]) -> str:
    """A stable key for a dict of inputs (model identity, prompt, every parameter)."""
    raw = json.dumps({k: repr(v) for k, v in sorted(inputs.items())}, ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


def approx_bytes(obj: Any, _depth: int = 0) -> int:
    """Rough size of a result: arrays, tensors and frames by their buffers, containers and dataclasses by parts."""
    if _depth > 4:
        return 0
    if hasattr(obj, "nbytes") and isinstance(getattr(obj, "nbytes"), int):  # numpy
        return int(obj.nbytes)
    if hasattr(obj, "element_size") and hasattr(obj, "nelement"):  # torch
        return int(obj.element_size() * obj.nelement())
    if hasattr(obj, "memory_usage") and hasattr(obj, "columns"):  # pandas
        return int(obj.memory_usage(index=True, deep=False).sum())
    if isinstance(obj, Mapping):
        return sum(approx_bytes(v, _depth + 1) for v in obj.values()) + 64 * len(obj)
    if isinstance(obj, (list, tuple, set, frozenset)):
        return sum(approx_bytes(v, _depth + 1) for v in obj) + 8 * len(obj)
    if hasattr(obj, "__dataclass_fields__"):
        return sum(approx_bytes(getattr(obj, f, None), _depth + 1) for f in obj.__dataclass_fields__)
    return sys.getsizeof(obj) if isinstance(obj, (str, bytes)) else 16


class SessionResults:
    """LRU of (slot, inputs) -> result, bounded by approximate bytes; one per browser session."""

    def __init__(self, max_bytes: int = MAX_SESSION_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str], tuple[Any, Mapping, int]] = OrderedDict()
        self._latest: dict[str, str] = {}  # slot -> fingerprint of its newest result
        self._lock = threading.RLock()  # the process-wide store is written by sessions and the warm-up thread

    @property
    def n_bytes(self) -> int:
        return sum(size for _, _, size in self._items.values())

    def get(self, slot: str, fp: str):
        with self._lock:
            item = self._items.get((slot, fp))
            if item is not None:
                self._items.move_to_end((slot, fp))
            return item

    def latest(self, slot: str):
        fp = self._latest.get(slot)
        return None if fp is None else self._items.get((slot, fp))

    def put(self, slot: str, fp: str, result: Any, inputs: Mapping) -> None:
        with self._lock:
            self._items[(slot, fp)] = (result, dict(inputs), approx_bytes(result))
            self._items.move_to_end((slot, fp))
            self._latest[slot] = fp
            while len(self._items) > 1 and self.n_bytes > self.max_bytes:
                (old_slot, old_fp), _ = self._items.popitem(last=False)
                if self._latest.get(old_slot) == old_fp:
                    del self._latest[old_slot]


def session_id() -> str | None:
    """This browser session's id (None outside a Streamlit script run)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return None if ctx is None else ctx.session_id


def bind_this_session() -> None:
    """Tell the scheduler which session this script run belongs to (one job per session; fair queueing)."""
    bind_session(session_id())


def session_results() -> SessionResults:
    if STORE not in st.session_state:
        st.session_state[STORE] = SessionResults()
    return st.session_state[STORE]


def progress_bar(label: str) -> tuple[Any, Progress]:
    """A progress bar and the Progress callback that drives it (None fraction = keep the bar where it is)."""
    bar = st.progress(0.0, text=label)
    last = [0.0]

    def progress(frac: float | None, msg: str) -> None:
        if frac is not None:
            last[0] = min(max(float(frac), 0.0), 1.0)
        bar.progress(last[0], text=msg)
    return bar, progress


def shared_results() -> SessionResults:
    """Results every session may reuse (deterministic work for the same inputs, e.g. a page's defaults and
    what the background warm-up computed), bounded; process-wide."""
    from .cache import shared_store

    return shared_store()


SEEN = "_lg_slots_seen"


def auto_budget(slot: str) -> float:
    """Seconds of work a page may start without a click: a page opening (the first look at `slot` in this
    session, e.g. from a pasted link) only costs.AUTO_BUDGET_S; later changes and in-app links up to
    costs.CONFIRM_OVER_S."""
    seen = st.session_state.setdefault(SEEN, set())
    first = slot not in seen
    seen.add(slot)
    return costs.AUTO_BUDGET_S if first else costs.CONFIRM_OVER_S


def follow_link(values: Mapping[str, Any], slots: tuple[str, ...] = ()) -> None:
    """Before switching pages on a click: set the target page's inputs, and let its `slots` run like a change
    (up to costs.CONFIRM_OVER_S without another click), since the user asked for them."""
    for k, v in values.items():
        st.session_state[k] = v
    st.session_state.setdefault(SEEN, set()).update(slots)


def run_keyed(slot: str, inputs: Mapping[str, Any], compute: Callable[[Progress], R], *, action: str,
              button: str | None = None, auto: bool = False, button_help: str | None = None,
              show_stale: bool = True, cost: tuple[str, str, float] | None = None,
              shared: bool = False, kind: str = SHORT, validate: Callable[[], Any] | None = None
              ) -> Kept[R] | None:
    """Show a result for `inputs`, computing it when asked.

    The result for exactly these inputs is returned at once when this session (or, with `shared`, any
    session or the background warm-up) has it. Otherwise it is computed when the `button` is pressed, or
    without a click when `auto` is set and the estimate from `cost` = (model, kind, FLOPs) fits
    costs.AUTO_BUDGET_S; a run estimated over costs.CONFIRM_OVER_S shows that estimate by its button.
    A run has a progress bar and a Cancel button (both gone when it ends, fails or is cancelled). Failing
    that, the newest result of this slot comes back marked stale, with a notice (unless show_stale is
    False), so the page can still show it.
    kind: "short" (lens, one ablation: served before the next batch of any long job) or "long" (scans,
    sweeps, grids). The run is this session's one job: starting it cancels the session's previous one.
    validate: cheap checks (no model run) called first; their UserError is shown at once, whatever the
    estimate, and nothing is shown or started. A run that fails shows its error only (no stale result).
    """
    if validate is not None:
        ok = False
        with shown_errors(action):
            validate()
            ok = True
        if not ok:
            return None
    from . import workshop

    # in a room every result is shared: the presenter computes it once, each follower shows it (never computes)
    shared = shared or workshop.role() is not None
    store = session_results()
    fp = fingerprint(inputs)
    item = store.get(slot, fp)
    if item is None and shared:
        item = shared_results().get(slot, fp)
        if item is not None:
            store.put(slot, fp, item[0], item[1])
    if item is not None:
        return Kept(item[0], False, item[1])
    if workshop.following():  # the presenter's run will bring it; meanwhile the newest result, marked stale
        workshop.wait_for_presenter()
        auto, button = False, None
    est = costs.estimate_s(*cost) if cost is not None else None
    budget = auto_budget(slot)
    start = auto and (est is None or est <= budget)
    if auto and not start and button is not None:
        st.info(f"Not started automatically: {action[:1].lower() + action[1:]} would take {costs.fmt_seconds(est)} "
                f"on this machine (a page {'opening' if budget <= costs.AUTO_BUDGET_S else 'change'} starts at most "
                f"{budget:g} s of work by itself); press **{button}** to run it.")
    elif est is not None and est > costs.CONFIRM_OVER_S and button is not None:
        st.caption(f"⏱ Estimated {costs.fmt_seconds(est)} on this machine (from the measured speed of this model).")
    if button is not None:
        start = st.button(button, type="primary", key=f"{slot}_run", help=button_help) or start
    if start:
        failed = True
        holder = st.empty()
        with holder.container():
            st.button("Cancel", key=f"{slot}_cancel", help="Stops the run; nothing is kept.")
            bar, progress = progress_bar(f"{action}…")
        try:
            with shown_errors(action):
                t0 = time.perf_counter()
                with job(kind, session=session_id(), progress=progress) as j:
                    result = compute(progress)
                if cost is not None:  # the model's speed: time spent queued behind other sessions is not work
                    costs.record(cost[0], cost[1], cost[2], time.perf_counter() - t0 - j.waited_s)
                store.put(slot, fp, result, inputs)
                if shared:
                    shared_results().put(slot, fp, result, inputs)
                failed = False
                return Kept(result, False, dict(inputs))
        finally:
            holder.empty()
        if failed:
            return None
    latest = store.latest(slot)
    if latest is None:
        return None
    if show_stale:
        changed = [k for k in inputs if latest[1].get(k) != inputs[k]]
        what = ", ".join(changed[:4]) + ("…" if len(changed) > 4 else "")
        st.info(f"Showing the result for earlier inputs ({what or 'inputs'} changed)"
                + (f"; press **{button}** to update." if button else "."))
    return Kept(latest[0], True, latest[1])
