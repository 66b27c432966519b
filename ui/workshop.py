"""The room in the browser: `?present` opens a room, `?follow=CODE` mirrors its presenter's page and URL state.

The presenter publishes its view (page + query) at the end of each finished run, so by then the view's results
are in the shared store. Nobody polls from the browser: the registry wakes each follower's session on the server
(a full rerun with the session's own saved client state, as Streamlit's rerun-on-save does, set to the view's page
and URL), so a run always belongs to a page the server chose, and the follower draws the new view in that run. While following,
a session never computes: it shows the presenter's result (ui.runner) or waits for it.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode, urlsplit

import streamlit as st

from interp_core.errors import UserError

from .navigation import PAGES, url_path_of
from .room_state import ROLE, WAITING, role
from .rooms import REGISTRY, ROOM_KEYS, NotPresenter, View, normalize, pretty
from .runner import session_id

APPLIED = "_lg_room_applied"  # the View a follower last switched to
BASELINE = "_lg_room_baseline"  # (page, query) the follower's own run made of that view
RUNS = "_lg_room_runs"  # the presenter's run count this follower's run started with
NOTE = "_lg_room_note"  # a sentence to show once (room ended, you changed the view, forged code)
SWEEP_S = 2.0  # how often the server looks for rooms whose presenter left and followers whose browser went
COUNT_DEBOUNCE_S = 0.3  # followers joining together redraw the presenter's count once
RETRY_S = 0.05  # a busy session is asked again this often until its run is over
WAKE_TRIES = 1200  # (at most a minute of asking; a follower's run never computes, so it is short)
_WOKEN: set[str] = set()  # sessions woken by the room whose next run must show the room's view
_PENDING: set[str] = set()  # sessions with a wake-up scheduled
_LOCK = threading.Lock()
_SWEEPER: list[threading.Thread] = []


def _active(sid: str) -> Any:
    """The server's AppSession for a connected browser session, or None (outside a running server too)."""
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return None
        info = Runtime.instance()._session_mgr.get_active_session_info(sid)
        return info.session if info is not None else None
    except Exception:  # noqa: BLE001 - a Streamlit without these internals: rooms cannot wake anyone
        return None


def _alive(sid: str) -> bool:
    """Whether the server still has this browser session connected (unknown outside a running server: yes)."""
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return True
        return bool(Runtime.instance().is_active_session(sid))
    except Exception:  # noqa: BLE001 - a Streamlit without this API: the presenter timeout alone ends rooms
        return True


def _rerun(session: Any, sid: str, why: str) -> None:
    """On the server's event loop: rerun a session with its saved client state (page, query, widgets); a follower
    woken for a new view reruns on the view's page and URL at once (one run, where a page switch takes two)."""
    from streamlit.proto.ClientState_pb2 import ClientState

    state = ClientState()
    state.CopyFrom(session._client_state)
    state.fragment_id = ""
    target = REGISTRY.followed_by(sid) if why == "view" else None
    if target is not None:
        code, view = target
        page = next((h for h, p in session._pages_manager.get_pages().items() if p.get("url_pathname") == view.page),
                    None)
        if page is not None:  # (else the run switches page itself: room_start)
            state.page_script_hash = page
            state.query_string = urlencode({**view.query_dict(), "follow": code})
    session.request_rerun(state)


def _wake(sid: str, why: str) -> None:
    """Schedule a redraw of one browser session once its current run, if any, is over: a wake-up never interrupts
    a run (the user's own click included), and it reruns with the client state saved at that run's end. Followers
    are redrawn at once when idle; the presenter's count after a short pause, so joins arriving together redraw
    it once. One wake-up at a time per session: it reads the room as it is when it runs."""
    session = _active(sid)
    if session is None:
        return
    with _LOCK:
        if sid in _PENDING:
            return
        _PENDING.add(sid)
    loop = session._event_loop
    retry_s = COUNT_DEBOUNCE_S if why == "count" else RETRY_S

    def attempt(tries: int = WAKE_TRIES) -> None:
        if session._scriptrunner is not None and tries > 0:  # a run is going: its end saves the newer state
            loop.call_later(retry_s, attempt, tries - 1)
            return
        with _LOCK:
            _PENDING.discard(sid)
            if why != "count":
                _WOKEN.add(sid)
        _rerun(session, sid, why)

    if why == "count":
        loop.call_soon_threadsafe(lambda: loop.call_later(COUNT_DEBOUNCE_S, attempt))
    else:
        loop.call_soon_threadsafe(attempt)


def _sweeper() -> None:
    while True:
        time.sleep(SWEEP_S)
        try:
            REGISTRY.sweep()
        except Exception:  # noqa: BLE001 - housekeeping must outlive a bad moment; the next sweep retries
            pass


def _ensure_sweeper() -> None:
    with _LOCK:
        if not _SWEEPER:
            t = threading.Thread(target=_sweeper, name="looking-glass-rooms", daemon=True)
            t.start()
            _SWEEPER.append(t)


def _woken(sid: str) -> bool:
    with _LOCK:
        hit = sid in _WOKEN
        _WOKEN.discard(sid)
    return hit


REGISTRY.alive = _alive
REGISTRY.wake = _wake


def _view_of_this_run(nav) -> tuple[str, tuple[tuple[str, str], ...]]:
    q = tuple(sorted((k, v) for k, v in st.query_params.to_dict().items() if k not in ROOM_KEYS))
    return url_path_of(nav), q


def _apply(view: View, code: str, nav) -> None:
    """Switch this follower to the presenter's view: forget the values the old and new URLs name, so each page
    seeds them from the new URL (ui.state.seed). On the same page this run goes on with the new URL (one run,
    and the browser redraws in place); else the view's page opens with it (the switch raises)."""
    old = st.query_params.to_dict()
    before = st.session_state.get(APPLIED)  # (a woken run may already carry the new URL: forget the last view's too)
    for k in {*old, *(before.query_dict() if before is not None else ()), *view.query_dict()} - set(ROOM_KEYS):
        st.session_state.pop(k, None)  # (the sidebar's "w_" widgets are re-seeded from these: ui.sidebar._bound)
    st.session_state[APPLIED] = view
    st.session_state[BASELINE] = None
    query = {**view.query_dict(), "follow": code}
    if url_path_of(nav) == view.page:
        st.query_params.from_dict(query)
        return
    entry = next((p for p in PAGES if p.url_path == view.page), PAGES[0])
    st.switch_page(entry.path, query_params=query)


def room_start(nav) -> None:
    """Before the page runs: join or open the room the URL asks for; a follower catches up with the room."""
    qp, sid = st.query_params, session_id()
    if sid is None:
        return
    r = role()
    if "present" in qp and (r is None or r[0] != "present"):
        st.session_state[ROLE] = ("present", REGISTRY.open(sid))
        qp.pop("follow", None)
        _ensure_sweeper()
    elif "follow" in qp and (r is None or r[0] != "follow" or r[1] != normalize(qp["follow"])):
        raw = qp["follow"]
        qp.pop("follow", None)
        try:
            view = REGISTRY.follow(raw, sid)
        except UserError as e:
            st.session_state[NOTE] = str(e)
            st.session_state[ROLE] = None
            return
        code = normalize(raw) or raw
        st.session_state[ROLE] = ("follow", code)
        _ensure_sweeper()
        _apply(view, code, nav)
    r = role()
    if r is None or r[0] != "follow":
        return
    woken = _woken(sid)
    try:
        view = REGISTRY.follow(r[1], sid)
    except UserError as e:
        _ended(str(e))
        return
    st.session_state[WAITING] = False
    st.session_state[RUNS] = view.runs
    applied = st.session_state.get(APPLIED)
    if applied is None or view.version != applied.version:
        _apply(view, r[1], nav)  # (another page: raises, and the run goes on in the view's page)
        return
    # a wake-up reruns with the client state the server saved after the session's last whole run; a switch made
    # since then is not in it, so make the view again rather than read the older URL as the follower's own change
    expected = st.session_state.get(BASELINE) or (applied.page, applied.query)
    if woken and _view_of_this_run(nav) != expected:
        _apply(applied, r[1], nav)


def _ended(sentence: str) -> None:
    st.session_state[ROLE] = None
    st.session_state[NOTE] = sentence
    st.query_params.pop("follow", None)


@contextmanager
def room_run(nav):
    """Around `nav.run()`: a presenter's finished run (or one the page stopped) publishes its view; a follower's
    run that changed the view it was given means the follower took the controls: it explores on its own."""
    finished = False
    try:
        yield
        finished = True
    except BaseException as e:
        finished = type(e).__name__ == "StopException"  # st.stop(): the run is over; a rerun is not
        raise
    finally:
        r, sid = role(), session_id()
        if finished and r is not None and sid is not None:
            if r[0] == "present":
                try:
                    page, q = _view_of_this_run(nav)
                    REGISTRY.publish(r[1], sid, page, dict(q))
                except (UserError, NotPresenter) as e:
                    _ended(str(e))
            elif r[0] == "follow":
                _follower_finished(nav, r[1], sid)


def _follower_finished(nav, code: str, sid: str) -> None:
    here = _view_of_this_run(nav)
    if st.session_state.get(BASELINE) is None:
        st.session_state[BASELINE] = here
    elif here != st.session_state[BASELINE]:
        _explore(code)
        st.session_state[NOTE] = ("You changed the view, so you are exploring on your own; "
                                  "“Back to the presenter” rejoins the room.")
        st.rerun()  # the sidebar was drawn before the page: draw it again with the new role
    if not st.session_state.get(WAITING):
        REGISTRY.done_waiting(code, sid)
        applied = st.session_state.get(APPLIED)
        if applied is not None:
            REGISTRY.showed(code, sid, applied.version)
    elif REGISTRY.wait(code, sid, int(st.session_state.get(RUNS, 0))):
        st.rerun()  # the presenter's result came while this run drew: show it now


def _explore(code: str) -> None:
    sid = session_id()
    if sid is not None:
        REGISTRY.leave(code, sid)
    st.session_state[ROLE] = ("explore", code)
    st.session_state[WAITING] = False
    st.query_params.pop("follow", None)


def _back(code: str) -> None:
    st.session_state[ROLE] = ("follow", code)
    st.session_state[APPLIED] = None
    st.query_params["follow"] = code


def _room_link(code: str) -> str:
    url = st.context.url or ""
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return f"{base}/?follow={code}"


def room_sidebar() -> None:
    """The room box in the sidebar: the presenter's code, QR and follower count; a follower's controls."""
    note = st.session_state.pop(NOTE, None)
    r = role()
    with st.sidebar:
        if note:
            st.warning(note, icon="🏫")
        if r is None:
            return
        kind, code = r
        if kind == "present":
            from .qr import qr_png

            with st.container(border=True):
                st.markdown(f"**Presenting** · room code **`{pretty(code)}`**")
                link = _room_link(code)
                st.image(qr_png(link), width=180, caption="Followers scan this, or open the link below")
                st.code(link, language=None)
                try:
                    n = REGISTRY.count(code, session_id() or "")
                except (UserError, NotPresenter) as e:
                    _ended(str(e))
                    st.rerun()
                st.markdown(f"**{n}** following", help="Browsers following this room now.")
                if st.button("End the room", key="room_end"):
                    REGISTRY.close(code, session_id() or "")
                    st.session_state[ROLE] = None
                    st.query_params.pop("present", None)
                    st.rerun()
        elif kind == "follow":
            with st.container(border=True):
                st.markdown(f"**Following** room `{pretty(code)}`")
                if st.button("Explore on my own", key="room_explore",
                             help="Stop following; keep this view and change it freely."):
                    _explore(code)
                    st.rerun()
        else:
            with st.container(border=True):
                st.markdown(f"**Exploring on your own** (room `{pretty(code)}`)")
                if st.button("Back to the presenter", key="room_back", type="primary"):
                    _back(code)
                    st.rerun()
