"""The app's pages, in one table: app.py navigates over them and the sidebar links to them."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class PageEntry:
    path: str  # the page script, relative to app.py
    title: str
    icon: str
    url_path: str
    default: bool = False


PAGES = (
    PageEntry("pages/home.py", "Home", "🏠", "home", default=True),
    PageEntry("pages/neuron_explorer.py", "Neuron explorer", "🧠", "neuron_explorer"),
    PageEntry("pages/logit_lens.py", "Logit lens", "🔭", "logit_lens"),
    PageEntry("pages/flow.py", "Information flow", "🕸️", "flow"),
    PageEntry("pages/distributions.py", "Activation distributions", "📊", "distributions"),
    PageEntry("pages/ablation.py", "Ablation playground", "✂️", "ablation"),
    PageEntry("pages/lessons.py", "Lessons", "📚", "lessons"),
    PageEntry("pages/board.py", "Report board", "📌", "board"),
)


def st_pages() -> list:
    """One st.Page per entry, for st.navigation."""
    return [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, default=p.default) for p in PAGES]


def entry_of(nav) -> PageEntry:
    """The table's entry for st.navigation's current page."""
    return next((p for p in PAGES if p.title == nav.title), next(p for p in PAGES if p.default))


def url_path_of(nav) -> str:
    return entry_of(nav).url_path


def page_links() -> None:
    """The navigation at the top of the sidebar, the current page highlighted. Drawn by the app itself (config
    hides Streamlit's automatic list), so a fresh server's legacy `pages/` run shows the same links."""
    with st.sidebar:
        for p in PAGES:
            st.page_link(p.path, label=p.title, icon=p.icon)
        st.divider()
