"""Attention patterns section: a clickable head map, the chosen head enlarged (causal / sliding-window mask
visible), a hover token view, and every head as a grid. Used by the ablation playground and the logit lens."""
from __future__ import annotations

import streamlit as st

from typing import TYPE_CHECKING

from interp_core.plots.clickable import clicked_square
from interp_core.plots.components import head_map_figure, pattern_grid_figure

from ..charts import chart
from ..downloads import json_download, table_downloads
from ..head_view import focus_head, patterns, render_head

if TYPE_CHECKING:
    from interp_core import LoadedModel

SCORES = {"entropy": "entropy (low = focused)", "first_token": "attention to the first token",
          "previous_token": "attention to the previous token"}


def _head_state(key: str, n_layers: int, n_heads: int) -> tuple[int, int]:
    """The chosen (layer, head) in st.session_state, clamped to the model."""
    lay_key, head_key = f"{key}_attn_layer", f"{key}_attn_head"
    st.session_state.setdefault(lay_key, 0)
    st.session_state.setdefault(head_key, 0)
    for k, n in ((lay_key, n_layers), (head_key, n_heads)):
        if not 0 <= int(st.session_state[k]) < n:  # another model was open before
            st.session_state[k] = 0
    return int(st.session_state[lay_key]), int(st.session_state[head_key])


def render_attention(lm: LoadedModel, prompt: str, *, key: str) -> None:
    """The whole section for one prompt; `key` namespaces its widgets (one section per page)."""
    info = lm.info
    ap = patterns(lm, prompt)
    if ap is None:
        return
    bidir = "bidirectional" in ap.kinds
    st.caption(("Encoder: every token attends to every token (bidirectional)." if bidir else
                "Causal: a token attends to itself and earlier tokens; grey cells are masked.")
               + (f" Grouped-query attention: {ap.n_heads} query heads share {ap.n_kv_heads} key/value heads."
                  if ap.n_kv_heads < ap.n_heads else "")
               + (" Sliding-window layers are labelled with their window." if "sliding" in ap.kinds else ""))
    # a click arrives in the chart's state before the chart is drawn again: apply it first (a later pick wins)
    click = clicked_square(st.session_state.get(f"{key}_attn_map"))
    if click is not None and st.session_state.get(f"{key}_attn_last_click") != (prompt, click):
        st.session_state[f"{key}_attn_last_click"] = (prompt, click)
        focus_head(key, *click)
    layer, head = _head_state(key, info.n_layers, info.n_heads)
    c1, c2, c3 = st.columns(3)
    c1.selectbox("Layer", list(range(info.n_layers)), key=f"{key}_attn_layer", format_func=ap.layer_label)
    c2.selectbox("Head", list(range(info.n_heads)), key=f"{key}_attn_head",
                 format_func=lambda h: f"head {h}" + (f" (KV head {ap.kv_group(h)})" if ap.n_kv_heads < ap.n_heads else ""))
    score = c3.selectbox("Colour the head map by", list(SCORES), key=f"{key}_attn_score", format_func=SCORES.get)
    left, right = st.columns([2, 3])
    chart(head_map_figure(ap, score, selected=(layer, head)), key=f"{key}_attn_map",
                      on_select="rerun", selection_mode="points", where=left)
    with right:
        st.markdown(f"**Layer {layer}, head {head}** — {ap.layer_label(layer)}")
        render_head(lm, prompt, layer, head, key=key)
    grid = st.expander("Every head at once", expanded=False, key=f"{key}_attn_grid_open", on_change="rerun")
    with grid:
        if grid.open is not False:  # drawn only while open: a grid of every head is the section's costliest figure
            chart(pattern_grid_figure(ap), key=f"{key}_attn_grid")
    table_downloads(ap.frame(layer, head), f"attention_L{layer}H{head}", f"{key}_attn_dl")
    json_download(ap.to_dict(), "attention_patterns", f"{key}_attn_json", "⬇ Every pattern (JSON, CLI format)")
