"""The position window of a long prompt's lens heatmap: a range slider (last 64 positions by default), so a
1,000-token prompt is read a window at a time instead of as 1,000 crammed columns."""
from __future__ import annotations

import streamlit as st

from interp_core.plots.lens import DEFAULT_WINDOW, MAX_WINDOW, position_window

DRAWN = "_ll_window_drawn"  # the window of the heatmap as last drawn: a click event refers to it


def render_position_window(n_pos: int, prompt: str, focus: int | None = None, key: str = "ll_window") -> tuple[int, int]:
    """[lo, hi) positions to draw. No slider when the prompt fits; a new prompt starts at its last positions,
    and a linked position (`focus`) outside the window moves the window to it."""
    if n_pos <= DEFAULT_WINDOW:
        return 0, n_pos
    default = position_window(n_pos)
    held = st.session_state.get(key)
    if st.session_state.get(f"_{key}_prompt") != prompt or not isinstance(held, (tuple, list)) or \
            not (0 <= held[0] <= held[1] <= n_pos - 1):
        held = (default[0], default[1] - 1)
    moved = st.session_state.get(f"_{key}_focus") != (prompt, focus)  # a new link, click or pick: follow it once
    st.session_state[f"_{key}_focus"] = (prompt, focus)
    slid = tuple(held) != tuple(st.session_state.get(f"_{key}_last") or held)  # the person moved the slider: it wins
    if moved and not slid and focus is not None and 0 <= focus < n_pos and not held[0] <= focus <= held[1]:
        lo = min(max(focus - DEFAULT_WINDOW // 2, 0), n_pos - DEFAULT_WINDOW)
        held = (lo, lo + DEFAULT_WINDOW - 1)
    st.session_state[key] = tuple(held)
    st.session_state[f"_{key}_prompt"] = prompt
    lo_v, hi_v = st.slider(
        "Positions shown", 0, n_pos - 1, key=key,
        help=f"The prompt has {n_pos:,} positions; the heatmap shows a window of them (at most {MAX_WINDOW}).")
    st.session_state[f"_{key}_last"] = (lo_v, hi_v)
    lo, hi = position_window(n_pos, (lo_v, hi_v + 1))
    if hi - lo < hi_v + 1 - lo_v:
        st.caption(f"Showing positions {lo}–{hi - 1}: at most {MAX_WINDOW} columns fit one heatmap.")
    return lo, hi


def drawn_window(n_pos: int) -> tuple[int, int]:
    """The window the heatmap had when it was last drawn (what a click refers to)."""
    win = st.session_state.get(DRAWN)
    return tuple(win) if isinstance(win, (tuple, list)) and win[1] <= n_pos else position_window(n_pos)
