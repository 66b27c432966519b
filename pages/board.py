"""Report board: the views this session pinned, exported as one self-contained HTML file that opens offline."""
from __future__ import annotations

import streamlit as st

from ui.frame import require_frame

require_frame()

st.title("📌 Report board")
st.caption("Every chart has a **📌 Pin** button: it keeps the chart, its inputs, its key numbers and the model's "
           "fingerprint here. Export the board as one HTML file with interactive charts; it opens offline.")

import plotly.io as pio

from ui.board import export_button
from ui.charts import BOARD, chart, pins

board = pins()
if not board:
    st.info("Nothing pinned yet: press **📌 Pin** under any chart.")
    st.stop()

st.text_input("Report title", key="board_title", value="Looking Glass report", max_chars=200)
st.text_area("Introduction (optional)", key="board_intro", max_chars=5000,
             placeholder="What this report shows; it appears as plain text above the views.")
c1, c2 = st.columns([1, 1])
with c1:
    export_button(st.session_state.get("board_title", ""), st.session_state.get("board_intro", ""), key="board_export")
board = pins()  # (the export gave pins made before the weights fingerprint was ready their fingerprint)
if c2.button("Clear the board", key="board_clear"):
    st.session_state[BOARD] = []
    st.rerun()

for i, p in enumerate(board):
    with st.container(border=True):
        head, rm = st.columns([6, 1])
        head.markdown(f"**{i + 1}. {p.title}** · {p.page} · {p.pinned_at}")
        if rm.button("Remove", key=f"board_rm_{i}_{id(p)}"):
            board.pop(i)
            st.rerun()
        chart(pio.from_json(p.figure), key=f"board_fig_{i}_{id(p)}", pin=False)
        left, right = st.columns(2)
        left.dataframe({"input": [k for k, _ in p.inputs], "value": [v for _, v in p.inputs]}, hide_index=True)
        right.dataframe({"number": [k for k, _ in p.numbers], "value": [v for _, v in p.numbers]}, hide_index=True)
        st.caption(" · ".join(f"{k}: {v}" for k, v in p.provenance.rows()))
