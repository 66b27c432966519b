"""Information flow page: how did the information reach this prediction? The routes through attention heads and
MLPs to one token, pruned by a threshold (Ferrando & Voita, 2024); every node and edge opens the view behind it."""
from __future__ import annotations

import streamlit as st

from ui.frame import page_model, require_frame

require_frame()

st.title("🕸️ Information flow")
st.caption("How did the information reach this prediction? Each block's update is split into parts (every head "
           "from every source token, the MLP, the residual stream); the graph keeps the parts whose share of the "
           "sum exceeds the threshold, walking back from the chosen token.")

# the title and explanation are drawn before the heavy imports below (torch, plotly): a first paint at once
from ui.errors import shown_errors  # noqa: E402
from ui.jobs.flow import BERT_PROMPT, DECODER_PROMPT  # noqa: E402
from ui.sections.flow_detail import render_flow_detail  # noqa: E402
from ui.sections.flow_graph import render_flow_graph  # noqa: E402
from ui.state import publish, seed, url_notices  # noqa: E402

lm = page_model()
info = lm.info

seed("fl_prompt", BERT_PROMPT if info.masked_lm else DECODER_PROMPT)
seed("fl_token", -1, int, lo=-1, hi=4096)
seed("fl_thr", 0.04, float, lo=0.0, hi=0.5)
seed("fl_sel", "")
seed("fl_head", -1, int, lo=-1, hi=info.n_heads - 1)

st.text_input("Prompt", key="fl_prompt")
c1, c2 = st.columns([1, 2])
c1.number_input("Token (position; -1 = the last)", min_value=-1, step=1, key="fl_token",
                help="The graph is built backwards from this token's last residual state.")
c2.slider("Threshold", 0.0, 0.5, step=0.01, key="fl_thr",
          help="Keep an edge when its share of the sum at its destination exceeds this (0.04 in the paper).")
url_notices()
with shown_errors("Tracing the information flow"):
    drawn = render_flow_graph(lm, st.session_state["fl_prompt"], int(st.session_state["fl_token"]),
                              float(st.session_state["fl_thr"]))
    publish("fl_prompt", "fl_token", "fl_thr", "fl_sel")  # before the detail, whose runs may end this script run
    if drawn is not None:
        graph, selection = drawn
        render_flow_detail(lm, st.session_state["fl_prompt"], graph, selection)
publish("fl_head")
