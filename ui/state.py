"""URL query-string state: widgets start from the link's values and write theirs back, so a copied
link reopens the same view."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st


NOTICES = "_lg_url_notices"  # key -> (clamped value, sentence), shown until the user changes that value


def seed(key: str, default: Any, cast: Callable[[str], Any] = str, choices=None, *,
         lo: float | None = None, hi: float | None = None) -> None:
    """Initialise st.session_state[key] from ?key=… once per session.

    Unparsable values and values outside `choices` fall back to the default; numbers outside [lo, hi] are
    clamped into it. Either way a notice is recorded and `url_notices()` shows it, so a link never silently
    means something else (nor starts a huge run: pages size their work from the clamped values).
    """
    if key in st.session_state:
        if lo is not None or hi is not None:  # ranges can depend on other inputs (a layer on the site)
            st.session_state[key] = clamp(key, st.session_state[key], lo, hi, quiet=True)
        return
    raw = st.query_params.get(key)
    value = default
    if raw is not None:
        try:
            value = cast(raw)
        except (TypeError, ValueError):
            value = default
            _notice(key, value, f"?{key}={raw[:40]!s} is not a valid value; using {default!r}.")
        if choices is not None and value not in choices:
            _notice(key, default, f"?{key}={raw[:40]!s} is not one of the choices; using {default!r}.")
            value = default
    st.session_state[key] = clamp(key, value, lo, hi)


def check_tab(key: str, labels: Sequence[str], default: str | None = None) -> None:
    """Before `st.tabs(labels, key=key, bind="query-params")`: a ?key= naming no tab is dropped from the URL
    (the default tab opens) with a notice, like any other invalid link value; Streamlit alone would ignore it."""
    raw, default = st.query_params.get(key), default or labels[0]
    if raw is not None and raw not in labels:
        st.query_params.pop(key, None)
        _notice(key, default, f"?{key}={raw[:40]!s} is not one of the tabs; showing {default!r}.")


def clamp(key: str, value: Any, lo: float | None = None, hi: float | None = None, *, quiet: bool = False) -> Any:
    """`value` moved into [lo, hi] (either bound optional); a notice is recorded unless `quiet`."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return value
    out = value
    if lo is not None and out < lo:
        out = type(value)(lo)
    if hi is not None and out > hi:
        out = type(value)(hi)
    if out != value and not quiet:
        rng = f"{_fmt(lo) if lo is not None else '…'}–{_fmt(hi) if hi is not None else '…'}"
        _notice(key, out, f"?{key}={_fmt(value)} is outside {rng}; using {_fmt(out)}.")
    return out


def _fmt(x: Any) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:g}" if isinstance(x, float) else str(x)


def _notice(key: str, value: Any, sentence: str) -> None:
    st.session_state.setdefault(NOTICES, {})[key] = (value, sentence)


def url_notices() -> None:
    """Show what the link asked for that was out of range or invalid (until the user changes that value)."""
    notices = st.session_state.get(NOTICES) or {}
    for key, (value, sentence) in list(notices.items()):
        if st.session_state.get(key, value) != value:  # (a tab's key exists once its tabs are drawn)
            del notices[key]
            continue
        st.warning("Link adjusted: " + sentence, icon="🔗")


def publish(*keys: str) -> None:
    """Write the current widget values of `keys` into the URL."""
    for key in keys:
        value = st.session_state.get(key)
        if value is None or value == "":
            st.query_params.pop(key, None)
        else:
            st.query_params[key] = str(value)


def as_bool(raw: str) -> bool:
    return raw.lower() in ("1", "true", "yes", "on")
