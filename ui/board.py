"""The report board's export: the session's pins (ui.charts) as one offline HTML file (interp_core.report)."""
from __future__ import annotations

import streamlit as st

from interp_core.report import build_report

from .charts import BOARD, pins, with_fingerprint


def report_html(title: str, intro: str = "", base_url: str | None = None) -> bytes:
    """The board as one offline HTML file (built when the download button is clicked)."""
    board = [with_fingerprint(p) for p in pins()]
    st.session_state[BOARD] = board
    return build_report(board, title or "Looking Glass report", intro=intro, base_url=base_url).encode("utf-8")
