"""Keep every page inside app.py's frame, also for a direct link opened on a fresh server."""
from __future__ import annotations

import streamlit as st


def require_frame() -> None:
    """Call first on every page.

    Until some session has run app.py's `st.navigation`, Streamlit serves a direct link such as
    /ablation in its legacy `pages/` mode, which runs the page file alone: no sidebar, no model.
    Then draw the shared frame (sidebar, model) here, in the same run, and switch the server to
    st.navigation routing for every later run. (AppTest re-enables the legacy mode before each run,
    so this path is also what its `switch_page` runs exercise.)
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a future Streamlit without the legacy mode
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        from .sidebar import model_sidebar

        st.session_state["lm"] = model_sidebar()
