"""The logit-lens cell a click selected: its top-k, and "ablate here", which opens the ablation playground on
the same prompt with that hidden state (layer, position) zeroed, its result computed on arrival."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from typing import TYPE_CHECKING

from ..links import open_playground, playground_values

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.lens import LensResult


def render_cell(lm: LoadedModel, result: LensResult, layer: int, position: int, top_k: int, target: str) -> None:
    """`layer`: the clicked row (hidden state index, 0 = embeddings; -1 = no cell clicked yet)."""
    labels = result.layer_labels()
    if not 0 <= layer < len(labels) or not 0 <= position < len(result.tokens):
        st.caption("Click a cell of the heatmap to see its top-k here and ablate that hidden state.")
        return
    st.markdown(f"**Cell: layer {labels[layer]} · position {position} ({result.tokens[position]!r})** — "
                f"the top-{top_k} of this hidden state decoded")
    k = min(top_k, result.top_ids.shape[-1])
    top = pd.DataFrame({
        "rank": range(1, k + 1),
        "token": [result.token_text[int(t)] for t in result.top_ids[layer, position, :k]],
        "prob": [float(p) for p in result.top_probs[layer, position, :k]],
        "logit": [float(x) for x in result.top_logits[layer, position, :k]]})
    st.dataframe(top, hide_index=True, key="ll_cell_topk")
    if lm.info.masked_lm:
        return
    final = result.token_text[int(result.top_ids[-1, -1, 0])]  # the model's own next-token prediction
    values = playground_values(st.session_state["ll_prompt"], target or final, "resid", layer, pos="chosen",
                               pos_list=position)
    if st.button("✂️ Ablate here", key="ll_ablate_here",
                 help=f"Zero the hidden state at layer {labels[layer]}, position {position} in the ablation "
                      f"playground and compare the prediction of {values['ab_target']!r}."):
        open_playground(values)
