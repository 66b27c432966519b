"""Keep every page inside app.py's frame, also for a direct link opened on a fresh server."""
from __future__ import annotations

from typing import Any

import streamlit as st


def require_frame() -> None:
    """Call first on every page.

    Until some session has run app.py's `st.navigation`, Streamlit serves a direct link such as
    /ablation in its legacy `pages/` mode, which runs the page file alone: no sidebar, no model, and the
    automatic list of the files in pages/ (hidden by `client.showSidebarNavigation = false`). Then draw the
    shared frame (links, sidebar, model) here, in the same run, and switch the server to st.navigation
    routing for every later run. (Not a rerun: that would drop the widget triggers of this run. AppTest
    re-enables the legacy mode before each run, so this path is also what its `switch_page` runs exercise.)
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a future Streamlit without the legacy mode
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        from .navigation import page_links
        from .sidebar import model_sidebar

        page_links()
        st.session_state["lm"] = model_sidebar()
        _note_legacy_page()


def _note_legacy_page() -> None:
    """The page a legacy-mode run draws (app.py did not run to record it), for the pins: by the run's script."""
    from pathlib import Path

    from streamlit.runtime.scriptrunner import get_script_run_ctx

    from .charts import PAGE
    from .navigation import PAGES

    ctx = get_script_run_ctx(suppress_warning=True)
    pages: dict[str, Any] = getattr(getattr(ctx, "pages_manager", None), "get_pages", lambda: {})()
    script = str(pages.get(getattr(ctx, "page_script_hash", ""), {}).get("script_path", ""))
    for p in PAGES:
        if script and Path(script).name == Path(p.path).name:
            st.session_state[PAGE] = p.url_path


def page_model(*, no_lm_head: str | None = None):
    """The model the sidebar loaded, or stop the page with a message.

    no_lm_head: when given, the page needs an LM head and this sentence ({name} = the model) says why
    a model without one (e.g. MiniLM) cannot be used here.
    """
    lm = st.session_state.get("lm")
    if lm is None:
        from .sidebar import load_pending

        load_pending()  # reruns the page once the model is there
        if st.session_state.get("_lg_pending_model") is None:
            st.info("Load a model in the sidebar first.")
        st.stop()
    from .runner import note_page_run

    note_page_run()
    if no_lm_head is not None and not lm.info.has_lm_head:
        st.info(no_lm_head.format(name=lm.info.name))
        st.stop()
    return lm
