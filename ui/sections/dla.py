"""Direct logit attribution section (logit lens page): for one position and a target (optionally minus a
foil), a waterfall by layer and a clickable layer × head map; a clicked head opens its attention pattern."""
from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from interp_core import UserError
from interp_core.components import FROZEN_NOTE, check_dla_supported
from interp_core.plots.clickable import clicked_square
from interp_core.plots.components import dla_heads_figure, dla_waterfall_figure

from ..charts import chart
from ..downloads import figure_download, json_download, table_downloads
from ..errors import shown_errors
from ..head_view import focus_head, render_head
from ..jobs.dla import DLA, dla_key
from ..runner import run_keyed

if TYPE_CHECKING:
    from interp_core import LoadedModel


def render_dla(lm: LoadedModel, prompt: str, position: int, *, key: str, target: str = "") -> None:
    """DLA at `position` of `prompt`; `target` pre-fills the target field (empty = the model's top prediction)."""
    try:
        check_dla_supported(lm)
    except UserError as e:
        st.info(str(e))
        return
    t_key, f_key = f"{key}_dla_target", f"{key}_dla_foil"
    if st.session_state.get(f"{key}_dla_src") != target:  # the page's target changed: follow it
        st.session_state[f"{key}_dla_src"] = st.session_state[t_key] = target
    st.session_state.setdefault(f_key, "")
    c1, c2 = st.columns(2)
    c1.text_input("Target token (empty = the model's top prediction here)", key=t_key, placeholder=" Paris")
    c2.text_input("Foil token (optional: attribute target − foil)", key=f_key, placeholder=" Rome")
    tgt, foil = st.session_state[t_key], st.session_state[f_key]
    kept = run_keyed(DLA, lm, dla_key(lm, prompt, position, tgt, foil), action="Attributing the logit", auto=True,
                     show_stale=False, slot=f"{key}_dla")
    if kept is None or kept.stale:
        return
    d = kept.result
    st.caption(FROZEN_NOTE + (" This model soft-caps its logits; the attribution is of the logit before the cap."
                              if d.softcapped else ""))
    m1, m2, m3 = st.columns(3)
    m1.metric(d.label, f"{d.actual:.4f}", help="The model's own value at this position.")
    m2.metric("Sum of the parts", f"{d.total:.4f}", f"{d.total - d.actual:+.1e}", delta_color="off")
    m3.metric("Frozen final-norm scale", f"{d.norm_scale:.4g}", help="1/σ (LayerNorm) or 1/rms (RMSNorm) on the clean run.")
    wf = dla_waterfall_figure(d)
    chart(wf, key=f"{key}_dla_wf")
    figure_download(wf, "dla_waterfall", f"{key}_dla_wf_dl")
    click = clicked_square(st.session_state.get(f"{key}_dla_heads"))
    if click is not None and st.session_state.get(f"{key}_dla_last") != (prompt, click):
        st.session_state[f"{key}_dla_last"] = (prompt, click)
        focus_head(f"{key}_dla", *click)
    chosen = None
    if f"{key}_dla_attn_layer" in st.session_state:
        chosen = (int(st.session_state[f"{key}_dla_attn_layer"]), int(st.session_state[f"{key}_dla_attn_head"]))
    left, right = st.columns([2, 3])
    chart(dla_heads_figure(d, selected=chosen), key=f"{key}_dla_heads", on_select="rerun",
                      selection_mode="points", where=left)
    with right:
        if chosen is None:
            st.caption("Click a head to open its attention pattern.")
        else:
            st.markdown(f"**Attention pattern of layer {chosen[0]}, head {chosen[1]}** "
                        f"(direct contribution {d.heads[chosen]:+.4f})")
            with shown_errors("Drawing the attention pattern"):
                render_head(lm, prompt, *chosen, key=f"{key}_dla")
    table_downloads(d.frame(), "dla", f"{key}_dla_tbl")
    json_download(d.to_dict(), "dla", f"{key}_dla_json", "⬇ Attribution (JSON, CLI format)")
