"""The one way a page runs work: a progress bar and a Cancel button while it runs, the result kept per session
keyed by every input (so going back to earlier inputs is instant), and a notice when the shown result is stale.

A Cancel click reruns the script; Streamlit then raises its stop/rerun signal inside the next progress call,
which unwinds the computation (hooks are removed in `finally`) and nothing is kept.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import streamlit as st

from interp_core.engine.scheduler import SHORT, bind_session, job
from interp_core.results import Progress

from . import cache, costs, room_state
from .errors import shown_errors
from .jobs.base import Cost, Key, PageJob
from .store import SessionResults, fingerprint

if TYPE_CHECKING:
    from interp_core import LoadedModel

R = TypeVar("R")
K = TypeVar("K", bound=Key)
STORE = "_lg_results"


@dataclass(frozen=True)
class Kept(Generic[R]):
    """A kept result and whether it belongs to the current inputs (stale = computed for earlier ones)."""

    result: R
    stale: bool
    inputs: Mapping[str, Any]


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
    return cache.shared_store()


SEEN = "_lg_slots_seen"
OPENING = "_lg_page_opening"
LAST_PAGE = "_lg_last_page"


def note_page_run() -> None:
    """Record whether this script run opens a page (its first run in this session: a new tab, a pasted link, a
    page switch) or follows the user's own change on it (any later run of the same page). Called by the frame
    once per page run, before any `run_cached`."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    page = getattr(ctx, "page_script_hash", None) if ctx is not None else None
    st.session_state[OPENING] = st.session_state.get(LAST_PAGE) != page
    st.session_state[LAST_PAGE] = page


def auto_budget(slot: str) -> float:
    """Seconds of work a page may start without a click: a page opening only costs.AUTO_BUDGET_S, unless an
    in-app link asked for `slot` (follow_link); the user's own changes on the page up to costs.CONFIRM_OVER_S."""
    opening = st.session_state.get(OPENING, True)
    followed = slot in st.session_state.get(SEEN, set())
    return costs.AUTO_BUDGET_S if opening and not followed else costs.CONFIRM_OVER_S


def follow_link(values: Mapping[str, Any], slots: tuple[str, ...] = ()) -> None:
    """Before switching pages on a click: set the target page's inputs, and let its `slots` run like a change
    (up to costs.CONFIRM_OVER_S without another click), since the user asked for them."""
    for k, v in values.items():
        st.session_state[k] = v
    st.session_state.setdefault(SEEN, set()).update(slots)


def run_keyed(job: PageJob[K, R], lm: LoadedModel, key: K, *, action: str, button: str | None = None,
              auto: bool = False, button_help: str | None = None, show_stale: bool = True,
              slot: str | None = None) -> Kept[R] | None:
    """Show `job`'s result for `key` (see run_cached), computing it with the job's compute, cost, scheduler kind
    and checks; `slot` overrides the job's own (one section drawn under several prefixes)."""
    return run_cached(slot or job.slot, job.inputs(key), lambda progress: job.compute(lm, key, progress),
                      action=action, button=button, auto=auto, button_help=button_help, show_stale=show_stale,
                      cost=job.cost(lm, key), shared=job.shared, kind=job.kind,
                      validate=(lambda: job.validate(lm, key)) if type(job).validate is not PageJob.validate else None)


def run_cached(slot: str, inputs: Mapping[str, Any], compute: Callable[[Progress], R], *, action: str,
               button: str | None = None, auto: bool = False, button_help: str | None = None,
               show_stale: bool = True, cost: Cost | None = None,
               shared: bool = False, kind: str = SHORT, validate: Callable[[], Any] | None = None
               ) -> Kept[R] | None:
    """Show the result for `inputs`: kept (this session's, or with `shared` any session's and the warm-up's), else
    computed on the `button`'s click or, with `auto`, by itself when the estimate from `cost` fits the page's
    budget (runner.auto_budget); else this slot's newest result, marked stale (a notice unless show_stale is
    False). `kind`: the scheduler's short or long; starting a run cancels this session's previous one.
    `validate`: cheap checks whose UserError is shown at once; a failed run shows its error only."""
    if validate is not None:
        ok = False
        with shown_errors(action):
            validate()
            ok = True
        if not ok:
            return None
    # in a room every result is shared: the presenter computes it once, each follower shows it (never computes)
    shared = shared or room_state.role() is not None
    store = session_results()
    fp = fingerprint(inputs)
    item = store.get(slot, fp)
    if item is None and shared:
        item = shared_results().get(slot, fp)
        if item is not None:
            store.put(slot, fp, item[0], item[1])
    if item is not None:
        return Kept(item[0], False, item[1])
    if room_state.following():  # the presenter's run will bring it; meanwhile the newest result, marked stale
        room_state.wait_for_presenter()
        auto, button = False, None
    est = costs.estimate_s(cost) if cost is not None else None
    budget = auto_budget(slot)
    start = auto and (est is None or est <= budget)
    note = st.empty()  # filled below the button's click is known: never left above a run the click started
    if button is not None:
        start = st.button(button, type="primary", key=f"{slot}_run", help=button_help) or start
    if not start and auto and button is not None and est is not None and est > budget:
        note.info(f"Not started automatically: {action[:1].lower() + action[1:]} takes "
                  f"{costs.fmt_seconds(est)} on this machine, more than the {budget:g} s "
                  f"{'a page opens with' if budget <= costs.AUTO_BUDGET_S else 'a change runs'} by itself. "
                  f"Press **{button}** to run it.")
    elif not start and est is not None and est > costs.CONFIRM_OVER_S and button is not None:
        note.caption(f"⏱ Estimated {costs.fmt_seconds(est)} on this machine (from the measured speed of this model).")
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
                    costs.record(cost, time.perf_counter() - t0 - j.waited_s)
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


def _wait(task: Any, warm: Any, what: str, timeout_s: float) -> None:
    """Wait for a warm-up task, saying which step the warm-up is on (updated twice a second)."""
    note = st.empty()
    end = time.monotonic() + timeout_s
    while not task.done.wait(0.5) and time.monotonic() < end:
        note.info(f"⏳ {what} in the background (once per server). {warm.status(task)}")
    note.empty()


def wait_for_warmup(lm: LoadedModel, job: PageJob[K, Any], key: K, timeout_s: float = 300.0) -> None:
    """If the warm-up is still computing exactly this result, wait for it (showing its step) instead of
    starting the same work a second time."""
    warm = cache.warmup(lm.spec, lm)
    task = warm.pending(job.slot, job.inputs(key))
    if task is not None:
        _wait(task, warm, "Preparing this page's default view", timeout_s)


def wait_for_scan(lm: LoadedModel, timeout_s: float = 180.0) -> None:
    """Wait for the warm-up's default layer scan if it is still running."""
    warm = cache.warmup(lm.spec, lm)
    task = warm.scan()
    if task is not None:
        _wait(task, warm, "Scanning the default layer of the built-in corpus (then cached on disk)", timeout_s)
