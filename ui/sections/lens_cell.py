"""The logit-lens cell a click selected: its top-k, "ablate here", which opens the ablation playground on
the same prompt with that hidden state (layer, position) zeroed, and "steer towards this token", which adds the
cell's top token's unembedding direction there; both computed on arrival."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from interp_core.engine.sites import resid_block_site

from ..links import open_playground, open_steering, playground_values, steer_values
from ..errors import shown_errors
from ..jobs.features import FEATURES, FeaturesKey, saes_reading
from ..runner import run_keyed

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
    _features_here(lm, layer, position)
    if lm.info.masked_lm:
        return
    final = result.token_text[int(result.top_ids[-1, -1, 0])]  # the model's own next-token prediction
    values = playground_values(st.session_state["ll_prompt"], target or final, "resid", layer, pos="chosen",
                               pos_list=position)
    if st.button("✂️ Ablate here", key="ll_ablate_here",
                 help=f"Zero the hidden state at layer {labels[layer]}, position {position} in the ablation "
                      f"playground and compare the prediction of {values['ab_target']!r}."):
        open_playground(values)
    token = top["token"].iloc[0]
    where, block = resid_block_site(layer, lm.info.n_layers)
    if st.button("🧭 Steer towards this token", key="ll_steer_here",
                 help=f"Add the unembedding direction of {token!r} at {where} {block} in the playground's steering "
                      "mode and compare the clean and steered continuations."):
        open_steering(steer_values(st.session_state["ll_prompt"], site=where, layer=block, src="token", token=token))


def _features_here(lm: LoadedModel, layer: int, position: int) -> None:
    """The features of an SAE trained here on this hidden state, at this position (each opens in the explorer)."""
    with shown_errors("Reading the features here"):
        saes = saes_reading(lm, "resid", layer)
        if not saes:
            st.caption("No SAE reads this hidden state yet; train one in the neuron explorer (site sae).")
            return
        sae = saes[0]
        kept = run_keyed(FEATURES, lm, FeaturesKey(repr(lm.spec), st.session_state["ll_prompt"], sae),
                         action="Encoding the prompt", auto=True, show_stale=False, slot="ll_features")
        if kept is None or kept.stale or position >= len(kept.result.tokens):
            return
        at = kept.result.at(position)
        st.markdown(f"**Features at this layer and position** ({sae}): {len(at)} fire")
        st.dataframe(at, hide_index=True, key="ll_cell_features")
        if len(at):
            f = int(at["feature"].iloc[0])
            if st.button(f"Open feature {f} in the neuron explorer", key="ll_open_feature",
                         help="Its top contexts, what it writes and its activation on a prompt."):
                _open_feature(sae, f)


def _open_feature(sae: str, feature: int) -> None:
    from ..links import FRAME_KEYS

    values = {"ne_site": "sae", "ne_sae": sae, "ne_neuron": feature, "ne_pdim": feature}
    st.session_state.update(values)  # a session that visited the explorer already keeps its own values otherwise
    frame = {k: st.query_params[k] for k in FRAME_KEYS if k in st.query_params}
    st.switch_page("pages/neuron_explorer.py",
                   query_params={**frame, "ne_tab": "Layer scan", **{k: str(v) for k, v in values.items()}})
