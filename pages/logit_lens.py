"""Logit lens page: at which layer does the model know? Every layer's hidden state decoded into the
vocabulary; a target's z-score trajectory with its snap layer; the masked / next-token sweep."""
from __future__ import annotations

import streamlit as st

from ui.charts import chart
from ui.frame import page_model, require_frame

require_frame()


st.title("🔭 Logit lens")
st.caption("At which layer does the model know? Each layer's hidden state is decoded into the vocabulary.")

# the title and explanation are drawn before the heavy imports below (torch, plotly): a first paint at once
from interp_core.lens import (METHOD_HELP, default_position, require_mask,  # noqa: E402
                              trajectory)
from interp_core.lens import next_token_sweep  # noqa: E402
from interp_core.plots.lens import (COLOR_MODES, clickable_lens_heatmap, position_window,  # noqa: E402
                                   sweep_heatmap, trajectory_figure)
from ui.downloads import json_download, table_and_figure  # noqa: E402
from ui.errors import shown_errors  # noqa: E402
from ui.state import as_bool, check_tab, publish, seed, url_notices  # noqa: E402
from ui.runner import run_keyed  # noqa: E402
from ui.jobs.lens import (BERT_PROMPT, DECODER_PROMPT, LENS, MASKED_SWEEP, PAGE_TOP_K, RETARGET, SweepKey,  # noqa: E402
                          lens_key, retarget_key)
from ui.sections.lens_cell import render_cell  # noqa: E402
from ui.sections.lens_window import DRAWN, drawn_window, render_position_window  # noqa: E402
from ui.runner import wait_for_warmup  # noqa: E402
from interp_core.plots.clickable import clicked_cell  # noqa: E402
from ui.sections.attention import render_attention  # noqa: E402
from ui.sections.dla import render_dla  # noqa: E402

LL_VIEWS = ("Direct logit attribution", "Token sweep", "Attention patterns")  # the tabs under the trajectory

lm = page_model(no_lm_head="**{name}** has no LM head (it is an encoder "
                "without a prediction head), so there is nothing to decode its hidden states into. Pick a model "
                "with an LM head, e.g. gemma-3-270m, in the sidebar.")
info = lm.info

methods = ["auto", "full-head", "dot-product"] if info.masked_lm else ["auto", "final-norm", "dot-product"]
seed("ll_prompt", BERT_PROMPT if info.masked_lm else DECODER_PROMPT)
seed("ll_method", "auto", choices=("auto", "final-norm", "full-head", "dot-product"))
if st.session_state["ll_method"] not in methods:  # the model changed family
    st.session_state["ll_method"] = "auto"
seed("ll_target", "")
seed("ll_topk", 5, int, choices=tuple(range(1, PAGE_TOP_K + 1)))
seed("ll_color", "probability", choices=tuple(COLOR_MODES))
seed("ll_pos", -1, int, lo=-1, hi=4096)
seed("ll_layer", -1, int, lo=-1, hi=info.n_layers)  # a clicked cell's row (-1 = none)
seed("ll_sweep", False, as_bool)

st.text_input("Prompt", key="ll_prompt",
              help="BERT predicts at [MASK]: put [MASK] where the word to predict goes." if info.masked_lm else None)
c1, c2 = st.columns([3, 2])
c1.radio("Lens method", methods, key="ll_method", horizontal=True,
         format_func=lambda m: f"auto ({'full-head' if info.masked_lm else 'final-norm'})" if m == "auto" else m,
         help=" · ".join(f"{m}: {METHOD_HELP[m]}" for m in methods))
c2.text_input("Target token (optional)", key="ll_target", placeholder=" Paris" if not info.masked_lm else "paris",
              help="One token, with its leading space where the tokenizer has one (' Paris'). "
                   "Empty: each position's final prediction.")
c3, c4 = st.columns([1, 3])
c3.slider("Top-k in hover", 1, PAGE_TOP_K, key="ll_topk")
c4.radio("Colour by", list(COLOR_MODES), key="ll_color", horizontal=True, format_func=COLOR_MODES.get)
publish("ll_prompt", "ll_method", "ll_target", "ll_topk", "ll_color")


check_tab("ll_view", LL_VIEWS)
url_notices()
# the model runs once per (prompt, method); a target is a cheap re-read of the kept hidden states (retarget)
lens_in = lens_key(lm, st.session_state["ll_prompt"], st.session_state["ll_method"])
wait_for_warmup(lm, LENS, lens_in)
kept = None
with shown_errors("Running the logit lens"):
    kept = run_keyed(LENS, lm, lens_in, action="Running the logit lens", button="Run the logit lens", auto=True)
result = kept.result if kept is not None else None
if result is not None and st.session_state["ll_target"]:
    decoded, result = result, None
    with shown_errors("Tracking the target"):
        rt_key = retarget_key(lens_in, decoded, st.session_state["ll_target"], int(st.session_state["ll_pos"]))
        kept_rt = run_keyed(RETARGET, lm, rt_key, action="Tracking the target", auto=True, show_stale=False)
        result = None if kept_rt is None or kept_rt.stale else kept_rt.result
if result is None:
    st.stop()

top_k = int(st.session_state["ll_topk"])
name = f"logit_lens_{info.name.replace('/', '_')}"
st.subheader("Top-1 prediction at every layer and position")
st.caption(f"Method **{result.method}** · rows are hidden states (embeddings at the bottom) · "
           f"hover a cell for the top-{top_k}. Target: "
           + (f"`{result.target.token!r}`" if result.target.token else "each position's final prediction"))
# a click arrives in the chart's widget state before the chart is drawn again: apply it first (row = layer,
# column = position), so the outlined cell, the position box and the URL agree
_win = drawn_window(len(result.tokens))  # a long prompt is drawn a window of positions at a time
_cell = clicked_cell(st.session_state.get("ll_heatmap"), _win[1] - _win[0], curve=1)
_cell = None if _cell is None else (_cell[0], _cell[1] + _win[0])
if _cell is not None and st.session_state.get("_ll_cell") != (st.session_state["ll_prompt"], _cell):
    st.session_state["_ll_cell"] = (st.session_state["ll_prompt"], _cell)  # a clicked cell picks its position
    st.session_state["_ll_pos_prompt"] = st.session_state["ll_prompt"]
    st.session_state["ll_pos"] = _cell[1]
    st.session_state["ll_layer"] = _cell[0]
sel_layer = int(st.session_state["ll_layer"])
lo, hi = render_position_window(len(result.tokens), st.session_state["ll_prompt"], int(st.session_state["ll_pos"]))
st.session_state[DRAWN] = (lo, hi)
sel = (sel_layer, int(st.session_state["ll_pos"]) - lo) if 0 <= sel_layer < len(result.layer_labels()) else None
heat = clickable_lens_heatmap(result, st.session_state["ll_color"], top_k, (lo, hi), sel)
chart(heat, key="ll_heatmap", on_select="rerun", selection_mode="points")
table_and_figure(result.frame(top_k), heat, name, "ll_dl_table", f"{name}_heatmap")
json_download(result.to_dict(top_k), f"{name}_full", "ll_dl_json", "⬇ Lens JSON (CLI format)")

st.subheader("Trajectory of the target")
with shown_errors("Drawing the trajectory"):
    if info.masked_lm:
        require_mask(result, "The trajectory")
        positions = list(result.mask_positions)
    else:
        positions = list(range(len(result.tokens)))
    prompt_now = st.session_state["ll_prompt"]
    st.session_state.setdefault("_ll_pos_prompt", prompt_now)  # a linked position holds for the linked prompt
    if st.session_state["_ll_pos_prompt"] != prompt_now or st.session_state["ll_pos"] not in positions:
        if st.session_state["ll_pos"] not in (-1, *positions) and st.session_state["_ll_pos_prompt"] == prompt_now:
            st.warning(f"Position {st.session_state['ll_pos']} is not a position of this prompt "
                       f"({positions[0]}–{positions[-1]}); showing its prediction instead.", icon="🔗")
        st.session_state["ll_pos"] = default_position(result)  # a new prompt starts at its prediction
        st.session_state["ll_layer"] = -1
        st.session_state["_ll_pos_prompt"] = prompt_now
    st.selectbox("Position", positions, key="ll_pos",
                 format_func=lambda p: f"{p}: {result.tokens[p]!r}",
                 help="Decoders: the prediction made at this position (of the next token). BERT: a [MASK] position.")
    publish("ll_pos", "ll_layer")
    traj = trajectory(result, int(st.session_state["ll_pos"]))
    m1, m2, m3 = st.columns(3)
    m1.metric("Target", repr(traj.target))
    m2.metric("Snap layer", "never" if traj.snap_layer is None else str(traj.snap_layer),
              help="First layer from which the target stays top-1 to the end.")
    m3.metric("Final probability", f"{traj.prob[-1]:.3f}")
    tfig = trajectory_figure(traj)
    chart(tfig, key="ll_traj")
    table_and_figure(traj.frame(), tfig, f"{name}_trajectory", "ll_dl_traj")
    render_cell(lm, result, sel_layer, int(st.session_state["ll_pos"]), top_k, st.session_state["ll_target"])

# the sections below share one row of tabs; only the open one is drawn (its name travels in the URL): drawn
# all at once, their charts kept a new tab's browser busy for seconds before the heatmap showed
SWEEP_TAB = "Masked sweep" if info.masked_lm else "Next-token sweep"
tab_dla, tab_sweep, tab_attn = st.tabs(LL_VIEWS, key="ll_view", bind="query-params")
with tab_dla:
    if tab_dla.open is not False:
        st.caption("Which layers and heads wrote the prediction at the chosen position (click a lens cell or pick the "
                   "position above): each component's direct path through the final norm and the unembedding.")
        with shown_errors("Attributing the logit"):
            render_dla(lm, st.session_state["ll_prompt"], int(st.session_state["ll_pos"]), key="ll",
                       target=st.session_state["ll_target"])

with tab_sweep:
    if tab_sweep.open is not False:
        st.subheader(SWEEP_TAB)
        sweep = None
        with shown_errors("Running the sweep"):
            if info.masked_lm:
                st.caption("Mask each token in turn and follow the original token's z-score through the layers "
                           "(one forward pass per token): which words are decided early and which late.")
                st.toggle("Run the masked sweep", key="ll_sweep")
                publish("ll_sweep")
                if st.session_state["ll_sweep"]:
                    sw_in = SweepKey(lens_in.model, lens_in.prompt, lens_in.method)
                    kept_sw = run_keyed(MASKED_SWEEP, lm, sw_in, action="Masking each token in turn",
                                        button="Run the masked sweep", auto=True, show_stale=False)
                    sweep = kept_sw.result if kept_sw is not None else None
            else:
                st.caption("The actual next token's z-score at every layer and position (from the same lens pass), "
                           "min-max normalised per token: which continuations are decided early and which late.")
                sweep = next_token_sweep(result)
        if sweep is not None:
            window = position_window(len(sweep.tokens), (lo, hi)) if len(sweep.tokens) > hi - lo else None
            sfig = sweep_heatmap(sweep, window)
            chart(sfig, key="ll_sweep_fig")
            table_and_figure(sweep.frame(), sfig, f"{name}_sweep", "ll_dl_sweep")

with tab_attn:
    if tab_attn.open is not False:
        with shown_errors("Capturing attention patterns"):
            render_attention(lm, st.session_state["ll_prompt"], key="ll")
