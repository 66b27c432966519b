"""What a neuron writes (neuron explorer): the tokens it promotes and suppresses through the direct path,
as two ranked lists, with and without the norms' weights."""
from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from interp_core.components import VARIANTS
from interp_core.plots.components import writes_figure
from interp_core.plots.labels import visible

from ..charts import chart
from ..downloads import table_downloads
from ..jobs.neurons import WRITES, writes_key
from ..runner import run_keyed

if TYPE_CHECKING:
    import pandas as pd

    from interp_core import LoadedModel

# the value column keeps its room (it was cut off next to long tokens); tokens show their whitespace
COLUMNS = {"rank": st.column_config.NumberColumn("#", width="small"),
           "token": st.column_config.TextColumn("token", width="medium"),
           "value": st.column_config.NumberColumn("value", format="%+.4f", width="small")}


def _shown(ranked: pd.DataFrame) -> pd.DataFrame:
    """rank, token (whitespace and special characters visible: ␣ ⏎ <0x0A>), value."""
    out = ranked[["rank", "token", "value"]].copy()
    out["token"] = out["token"].map(visible)
    return out


def render_neuron_writes(lm: LoadedModel, site: str, layer: int, dim: int, *, key: str, k: int = 15) -> None:
    """Promoted / suppressed tokens of (site, layer, dim); a clear message for models without a usable LM head."""
    info = lm.info
    if not info.has_lm_head or info.masked_lm:
        st.info("What a neuron writes is not available for this model: "
                + ("it has no LM head." if not info.has_lm_head else "its MLM head's transform is non-linear."))
        return
    kept = run_keyed(WRITES, lm, writes_key(lm, site, layer, dim, k), action="Reading what the neuron writes",
                     auto=True, show_stale=False, slot=f"{key}_neuron_writes")
    if kept is None or kept.stale:
        return
    w = kept.result
    variant = st.radio("Direct path", list(VARIANTS), key=f"{key}_writes_variant", horizontal=True,
                       format_func=VARIANTS.get, help=w.norms_note)
    what = "unit vector" if site == "resid" else f"output weights (|w_out| = {w.vector_norm:.3g})"
    st.caption(f"{site} L{layer} #{dim}: its {what} through the unembedding — {w.norms_note}.")
    up, down = st.columns(2)
    up.markdown("**Promotes**")
    up.dataframe(_shown(w.ranked(variant, "promotes")), hide_index=True, key=f"{key}_writes_up", column_config=COLUMNS)
    down.markdown("**Suppresses**")
    down.dataframe(_shown(w.ranked(variant, "suppresses")), hide_index=True, key=f"{key}_writes_down",
                   column_config=COLUMNS)
    as_chart = st.expander("As a chart", expanded=False, key=f"{key}_writes_chart_open", on_change="rerun")
    with as_chart:
        if as_chart.open is not False:  # drawn only while open: a closed expander's chart still costs the browser
            chart(writes_figure(w, variant), key=f"{key}_writes_fig")
    table_downloads(w.frame(), f"writes_{site}{layer}_{dim}", f"{key}_writes_dl")
