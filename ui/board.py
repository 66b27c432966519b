"""The report board's export: the session's pins (ui.charts) as one offline HTML file (interp_core.report)."""
from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from interp_core.report import build_report

from .charts import BOARD, pins, with_fingerprint


def base_url() -> str | None:
    """The app's own address, for the report's "open in Looking Glass" links (None when unknown)."""
    parts = urlsplit(st.context.url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def export_button(title: str, intro: str, *, key: str) -> None:
    """A download button for the board's report. The file is built on the click, outside this script run
    (Streamlit calls the callable then, without session state): everything it needs is taken now."""
    board = [with_fingerprint(p) for p in pins()]  # pins made before the weights fingerprint was ready get it
    st.session_state[BOARD] = board
    base = base_url()
    name = title.strip() or "Looking Glass report"
    st.download_button("⬇ Export the report (HTML)", type="primary", key=key,
                       data=lambda: build_report(board, name, intro=intro, base_url=base).encode("utf-8"),
                       file_name="looking-glass-report.html", mime="text/html",
                       help="One file: the charts stay interactive, plotly.js is inside it, nothing is fetched.")
