"""Logit lens page: at which layer does the model know? Every layer's hidden state decoded into the
vocabulary; a target's z-score trajectory with its snap layer; the masked / next-token sweep."""
from __future__ import annotations

import streamlit as st

from interp_core.lens import (METHOD_HELP, compute_lens, default_position, require_mask,
                              trajectory)
from interp_core.lens import masked_sweep, next_token_sweep
from interp_core.plots.lens import COLOR_MODES, lens_heatmap, sweep_heatmap, trajectory_figure
from ui.downloads import json_download, table_and_figure
from ui.errors import shown_errors
from ui.state import as_bool, publish, seed
from ui.frame import page_model, require_frame

require_frame()

PAGE_TOP_K = 10  # computed once per prompt; the top-k slider only slices it (no recompute)
MEMO_SIZE = 4  # lens results kept per session
DECODER_PROMPT = "The Eiffel Tower is located in the city of"
BERT_PROMPT = "The Eiffel Tower is located in the city of [MASK]."

st.title("🔭 Logit lens")
st.caption("At which layer does the model know? Each layer's hidden state is decoded into the vocabulary.")

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
seed("ll_pos", -1, int)
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


def _memo_lens(prompt: str, method: str, target: str):
    """The lens result for (model identity, prompt, method, target), kept in this session."""
    memo = st.session_state.setdefault("_ll_memo", {})
    key = (lm.spec, prompt, method, target)
    if key in memo:
        memo[key] = memo.pop(key)  # most recently used last
        return memo[key]
    bar = st.progress(0.0, text="Running the logit lens…")
    last = [-1.0]

    def progress(frac: float, msg: str) -> None:
        if frac - last[0] >= 0.02 or frac >= 1.0:  # a rerun/stop raises in here and cancels the work
            last[0] = frac
            bar.progress(min(max(frac, 0.0), 1.0), text=msg)

    result = compute_lens(lm, prompt, method, PAGE_TOP_K, target or None, progress)
    bar.empty()
    memo[key] = result
    while len(memo) > MEMO_SIZE:
        memo.pop(next(iter(memo)))
    return result


def _memo_sweep(prompt: str, method: str):
    memo = st.session_state.setdefault("_ll_sweep_memo", {})
    key = (lm.spec, prompt, method)
    if key not in memo:
        bar = st.progress(0.0, text="Masking each token in turn…")
        memo.clear()
        memo[key] = masked_sweep(lm, prompt, method,
                                 lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m))
        bar.empty()
    return memo[key]


result = None
with shown_errors("Running the logit lens"):
    result = _memo_lens(st.session_state["ll_prompt"], st.session_state["ll_method"], st.session_state["ll_target"])
if result is None:
    st.stop()

top_k = int(st.session_state["ll_topk"])
name = f"logit_lens_{info.name.replace('/', '_')}"
st.subheader("Top-1 prediction at every layer and position")
st.caption(f"Method **{result.method}** · rows are hidden states (embeddings at the bottom) · "
           f"hover a cell for the top-{top_k}. Target: "
           + (f"`{result.target.token!r}`" if result.target.token else "each position's final prediction"))
heat = lens_heatmap(result, st.session_state["ll_color"], top_k)
st.plotly_chart(heat, key="ll_heatmap")
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
        st.session_state["ll_pos"] = default_position(result)  # a new prompt starts at its prediction
        st.session_state["_ll_pos_prompt"] = prompt_now
    st.selectbox("Position", positions, key="ll_pos",
                 format_func=lambda p: f"{p}: {result.tokens[p]!r}",
                 help="Decoders: the prediction made at this position (of the next token). BERT: a [MASK] position.")
    publish("ll_pos")
    traj = trajectory(result, int(st.session_state["ll_pos"]))
    m1, m2, m3 = st.columns(3)
    m1.metric("Target", repr(traj.target))
    m2.metric("Snap layer", "never" if traj.snap_layer is None else str(traj.snap_layer),
              help="First layer from which the target stays top-1 to the end.")
    m3.metric("Final probability", f"{traj.prob[-1]:.3f}")
    tfig = trajectory_figure(traj)
    st.plotly_chart(tfig, key="ll_traj")
    table_and_figure(traj.frame(), tfig, f"{name}_trajectory", "ll_dl_traj")

st.subheader("Masked sweep" if info.masked_lm else "Next-token sweep")
sweep = None
with shown_errors("Running the sweep"):
    if info.masked_lm:
        st.caption("Mask each token in turn and follow the original token's z-score through the layers "
                   "(one forward pass per token): which words are decided early and which late.")
        st.toggle("Run the masked sweep", key="ll_sweep")
        publish("ll_sweep")
        if st.session_state["ll_sweep"]:
            sweep = _memo_sweep(st.session_state["ll_prompt"], st.session_state["ll_method"])
    else:
        st.caption("The actual next token's z-score at every layer and position (from the same lens pass), "
                   "min-max normalised per token: which continuations are decided early and which late.")
        sweep = next_token_sweep(result)
if sweep is not None:
    sfig = sweep_heatmap(sweep)
    st.plotly_chart(sfig, key="ll_sweep_fig")
    table_and_figure(sweep.frame(), sfig, f"{name}_sweep", "ll_dl_sweep")
