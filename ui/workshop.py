"""The room in the browser: `?present` opens a room, `?follow=CODE` mirrors its presenter's page and URL state.

The presenter publishes its view (page + query) at the end of each finished run, so by then the view's results
are in the shared store; a follower polls the registry in a fragment and switches to each new view, and while
following it never computes: it shows the presenter's result (ui.runner) or waits for it.
"""
from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import urlsplit

import streamlit as st

from interp_core.errors import UserError

from .navigation import PAGES, url_path_of
from .room_state import ROLE, WAITING, role
from .rooms import REGISTRY, ROOM_KEYS, NotPresenter, View, normalize, pretty
from .runner import session_id

APPLIED = "_lg_room_applied"  # the View a follower last switched to
BASELINE = "_lg_room_baseline"  # (page, query) the follower's own run made of that view
PENDING = "_lg_room_pending"  # a View the poll found; the next full run switches to it (ui.workshop.room_start)
NOTE = "_lg_room_note"  # a sentence to show once (room ended, you changed the view, forged code)
POLL_S = 0.5  # followers' poll period: a change shows within about this plus one page run
COUNT_S = 2.0  # the presenter's heartbeat and follower count refresh


def _alive(sid: str) -> bool:
    """Whether the server still has this browser session connected (unknown outside a running server: yes)."""
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return True
        return bool(Runtime.instance().is_active_session(sid))
    except Exception:  # noqa: BLE001 - a Streamlit without this API: heartbeats alone end rooms
        return True


REGISTRY.alive = _alive


def _view_of_this_run(nav) -> tuple[str, tuple[tuple[str, str], ...]]:
    q = tuple(sorted((k, v) for k, v in st.query_params.to_dict().items() if k not in ROOM_KEYS))
    return url_path_of(nav), q


def _apply(view: View, code: str) -> None:
    """Switch this follower to the presenter's view: forget the values the old and new URLs name, so each page
    seeds them from the new URL (ui.state.seed), then open the page with that URL."""
    old = st.query_params.to_dict()
    for k in {*old, *view.query_dict()} - set(ROOM_KEYS):
        st.session_state.pop(k, None)  # (the sidebar's "w_" widgets are re-seeded from these: ui.sidebar._bound)
    st.session_state[APPLIED] = view
    st.session_state[BASELINE] = None
    st.session_state[WAITING] = False
    entry = next((p for p in PAGES if p.url_path == view.page), PAGES[0])
    st.switch_page(entry.path, query_params={**view.query_dict(), "follow": code})


def room_start() -> None:
    """Before the page runs: join or open the room the URL asks for; a follower catches up with the room."""
    qp, sid = st.query_params, session_id()
    if sid is None:
        return
    r = role()
    if "present" in qp and (r is None or r[0] != "present"):
        st.session_state[ROLE] = ("present", REGISTRY.open(sid))
        qp.pop("follow", None)
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
        _apply(view, code)
    r = role()
    pending = st.session_state.pop(PENDING, None)
    if r is not None and r[0] == "follow" and pending is not None:
        _apply(pending, r[1])
    if r is not None and r[0] == "follow" and st.session_state.get(APPLIED) is None:
        try:
            _apply(REGISTRY.follow(r[1], sid), r[1])
        except UserError as e:
            _ended(str(e))


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
                here = _view_of_this_run(nav)
                if st.session_state.get(BASELINE) is None:
                    st.session_state[BASELINE] = here
                elif here != st.session_state[BASELINE]:
                    _explore(r[1])
                    st.session_state[NOTE] = ("You changed the view, so you are exploring on your own; "
                                              "“Back to the presenter” rejoins the room.")
                    st.rerun()  # the sidebar was drawn before the page: draw it again with the new role


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


@st.fragment(run_every=COUNT_S)
def _presenter_status(code: str) -> None:
    sid = session_id()
    try:
        n = REGISTRY.heartbeat(code, sid or "")
    except (UserError, NotPresenter) as e:
        _ended(str(e))
        st.rerun(scope="app")
    st.markdown(f"**{n}** following", help="Followers whose browsers polled the room in the last few seconds.")


@st.fragment(run_every=POLL_S)
def _follower_poll(code: str) -> None:
    sid = session_id()
    try:
        view = REGISTRY.follow(code, sid or "")
    except UserError as e:
        _ended(str(e))
        st.rerun(scope="app")
    applied = st.session_state.get(PENDING) or st.session_state.get(APPLIED)
    if applied is None or view.version != applied.version or (
            st.session_state.get(WAITING) and view.runs != applied.runs):
        # switch in a full run (room_start), not from inside the fragment: a page switch raised in a fragment
        # run can leave the browser showing an empty main area
        st.session_state[PENDING] = view
        st.rerun(scope="app")


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
                _presenter_status(code)
                if st.button("End the room", key="room_end"):
                    REGISTRY.close(code, session_id() or "")
                    st.session_state[ROLE] = None
                    st.query_params.pop("present", None)
                    st.rerun()
        elif kind == "follow":
            with st.container(border=True):
                st.markdown(f"**Following** room `{pretty(code)}`")
                _follower_poll(code)
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
