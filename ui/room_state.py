"""Who this browser session is in a workshop room (presenter, follower, explorer), kept in its session state:
the runner reads it (a room shares every result, a follower never computes), ui.workshop writes it."""
from __future__ import annotations

import streamlit as st

ROLE = "_lg_room"  # ("present" | "follow" | "explore", code)
WAITING = "_lg_room_waiting"  # a follower's page found no presenter result for its inputs


def role() -> tuple[str, str] | None:
    return st.session_state.get(ROLE)


def following() -> bool:
    r = role()
    return r is not None and r[0] == "follow"


def wait_for_presenter() -> None:
    """A follower's page lacks the presenter's result for these inputs: say so; the presenter's next finished run
    wakes this page (ui.workshop)."""
    st.session_state[WAITING] = True
    st.info("Waiting for the presenter's result… (it appears here as soon as the presenter's page has it)",
            icon="⏳")
