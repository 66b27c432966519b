"""URL query-string state: widgets start from the link's values and write theirs back, so a copied
link reopens the same view."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st


def seed(key: str, default: Any, cast: Callable[[str], Any] = str, choices=None) -> None:
    """Initialise st.session_state[key] from ?key=… once per session (bad values fall back to default)."""
    if key in st.session_state:
        return
    raw = st.query_params.get(key)
    value = default
    if raw is not None:
        try:
            value = cast(raw)
        except (TypeError, ValueError):
            value = default
        if choices is not None and value not in choices:
            value = default
    st.session_state[key] = value


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
