"""The ablation playground's views: one clean-vs-ablated comparison, and a sweep whose bars / cells open a
single comparison (and, for a head sweep, that head's attention pattern)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from interp_core.plots.ablation import (
    METRICS,
    head_sweep_figure,
    layer_sweep_figure,
    scale_sweep_figure,
    self_repair_figure,
    topk_figure,
)
from interp_core.plots.clickable import clicked_cell, clicked_value, with_click_cells

from ..charts import chart
from ..downloads import figure_download, json_download, table_downloads
from ..errors import shown_errors
from ..head_view import render_head
from ..jobs.ablation import COMPARE, compare_key, widget_defaults
from ..links import COMPARE_TAB, LINK_GENERATE, STEER_SLOTS, steer_instead_values
from ..runner import follow_link, run_keyed

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.ablation import AblationResult, AblationSweep

def render_comparison(lm: LoadedModel, res: AblationResult, key: str = "ab") -> None:
    """One clean-vs-ablated comparison: metrics, top-k bars, generations, alignment, self-repair, downloads."""
    st.caption(f"{res.ablation.label()} · hooks left on the model: {lm.num_hooks()}"
               + (f" · reference: {res.reference}" if res.reference else ""))
    comp = res.main
    if len(res.comparisons) > 1:
        pick = st.selectbox("[MASK] position", [c.position for c in res.comparisons], key=f"{key}_mask_pick")
        comp = next(c for c in res.comparisons if c.position == pick)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("KL(clean ‖ ablated)", f"{comp.kl:.4f} nats")
    if comp.clean.target_prob is not None:
        st.text(f"Target {res.target!r} at position {comp.position} (after {comp.token!r}):")
        m2.metric("p(target) ablated", f"{comp.ablated.target_prob:.4f}", f"{comp.target_prob_delta:+.4f}")
        m3.metric("logit(target) ablated", f"{comp.ablated.target_logit:.3f}", f"{comp.target_logit_delta:+.3f}")
        m4.metric("rank ablated (clean)", f"{comp.ablated.target_rank}", f"{comp.clean.target_rank} clean",
                  delta_color="off", delta_arrow="off")
    fig = topk_figure(comp)
    chart(fig, key=f"{key}_topk_fig")
    figure_download(fig, "ablation_topk", f"{key}_topk_fig_dl")
    st.dataframe(comp.frame(), hide_index=True)
    table_downloads(comp.frame(), "ablation_topk", f"{key}_topk_tbl")
    if res.generation_clean:
        st.subheader("Greedy generation")
        g1, g2 = st.columns(2)
        g1.text("clean:   " + repr("".join(res.generation_clean)))
        g2.text("ablated: " + repr("".join(res.generation_ablated)))
        if res.first_divergence is None:
            st.success("Identical generations: the ablation did not change the greedy continuation.")
        else:
            st.warning(f"First divergence at generated token {res.first_divergence} (marked below).")
        gen = res.generation_frame()
        gen["mark"] = gen["first_divergence"].map(lambda x: "◀ first divergence" if x else "")
        st.dataframe(gen.drop(columns=["first_divergence"]), hide_index=True)
        table_downloads(gen, "ablation_generation", f"{key}_gen_tbl")
    if res.alignment:
        st.subheader("Patch alignment (from the end)")
        al = pd.DataFrame(list(res.alignment), columns=["position", "token", "cf_position", "cf_token"])
        st.dataframe(al, hide_index=True)
        table_downloads(al, "ablation_alignment", f"{key}_align_tbl")
    if res.self_repair is not None:
        sr = res.self_repair
        st.subheader("Self-repair")
        r1, r2, r3 = st.columns(3)
        r1.metric("direct effect (Δ logit)", f"{sr.direct_effect:+.3f}")
        r2.metric("total effect (Δ logit)", f"{sr.total_effect:+.3f}")
        r3.metric("total / direct", "n/a" if sr.ratio is None else f"{sr.ratio:.2f}")
        st.caption("Direct: the component's change is removed from the final residual stream only, everything "
                   "downstream as in the clean run. Total: everything downstream re-runs. A ratio well below 1 "
                   "means later layers compensated — the network rerouted around the cut, like a city grid "
                   "around an opened bridge; above 1, later layers amplified the damage.")
        fig = self_repair_figure(sr)
        chart(fig, key=f"{key}_repair_fig")
        figure_download(fig, "ablation_self_repair", f"{key}_repair_fig_dl")
    json_download(res.to_dict(), "ablation_result", f"{key}_json", "⬇ Full result (JSON)")
    if key == "ab" and not lm.info.masked_lm:
        values = steer_instead_values(st.session_state, lm.info.n_layers)
        st.button("🧭 Steer instead", key="ab_steer_instead", on_click=follow_link, args=(values, STEER_SLOTS),
                  help="Add a direction at the same place instead of removing what is there: towards the target "
                       "token (or along the neuron's output weight), in the playground's steering mode.")


def sweep_figure(sw: AblationSweep, metric: str):
    """The sweep's chart; a head sweep's cells get a clickable overlay (trace 1)."""
    frame = sw.frame()
    plot = {"layers": layer_sweep_figure, "heads": head_sweep_figure, "scale": scale_sweep_figure}[sw.kind]
    fig = plot(frame, metric, title=f"{METRICS.get(metric, metric)} — {sw.kind} sweep (click a "
                                    f"{'cell' if sw.kind == 'heads' else 'bar' if sw.kind == 'layers' else 'point'})")
    if sw.kind == "heads":
        with_click_cells(fig)
    return fig


def sweep_pick(sw: AblationSweep, event: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The widget values of the single intervention a click on the sweep chart points at, or None."""
    frame = sw.frame()
    if sw.kind == "heads":
        heads = sorted(frame["head"].dropna().unique())
        cell = clicked_cell(event, len(heads), curve=1)
        if cell is None:
            return None
        layers = sorted(frame["layer"].dropna().unique())
        return {"ab_site": "head", "ab_layer": int(layers[cell[0]]), "ab_heads": str(int(heads[cell[1]]))}
    x = clicked_value(event)
    if x is None:
        return None
    if sw.kind == "layers":
        return {"ab_layer": int(round(float(x)))}
    return {"ab_method": "scale", "ab_scale": float(x)}


def _encode_pick(kind: str, pick: Mapping[str, Any]) -> str:
    if kind == "heads":
        return f"L{pick['ab_layer']}H{pick['ab_heads']}"
    if kind == "layers":
        return f"L{pick['ab_layer']}"
    return f"S{pick['ab_scale']:g}"


def _decode_pick(kind: str, raw: str) -> dict[str, Any] | None:
    """'L3' (layers), 'L3H2' (heads), 'S0.5' (scale) -> widget values; None when it does not fit `kind`."""
    raw = (raw or "").strip()
    if kind == "layers" and (m := re.fullmatch(r"L(\d{1,3})", raw)):
        return {"ab_layer": int(m[1])}
    if kind == "heads" and (m := re.fullmatch(r"L(\d{1,3})H(\d{1,3})", raw)):
        return {"ab_site": "head", "ab_layer": int(m[1]), "ab_heads": m[2]}
    if kind == "scale" and (m := re.fullmatch(r"S(-?\d{1,4}(?:\.\d{1,6})?)", raw)):
        return {"ab_method": "scale", "ab_scale": float(m[1])}
    return None


def _open_in_compare(values: Mapping[str, Any]) -> None:
    for k, v in values.items():
        st.session_state[k] = v
    st.session_state["ab_tab"] = COMPARE_TAB


def render_sweep_pick(lm: LoadedModel, sw: AblationSweep, reference: Any, ref_sha: str | None) -> None:
    """The single intervention a click on the sweep chart picked (kept in the URL as ab_pick): its full
    clean-vs-ablated comparison, and a button that opens it in the Compare tab."""
    if "ab_pick" not in st.session_state:
        st.session_state["ab_pick"] = st.query_params.get("ab_pick", "")
    event = st.session_state.get("ab_sweep_fig")
    pick = sweep_pick(sw, event)
    if pick is not None:
        mark = (sw.kind, repr(event))
        if st.session_state.get("_ab_pick_seen") != mark:  # a new click (the event stays in widget state)
            st.session_state["_ab_pick_seen"] = mark
            st.session_state["ab_pick"] = _encode_pick(sw.kind, pick)
    pick = _decode_pick(sw.kind, st.session_state["ab_pick"])
    if pick is None:
        st.query_params.pop("ab_pick", None)
        st.caption("Click a bar or cell to see that single intervention's full comparison here.")
        return
    st.query_params["ab_pick"] = st.session_state["ab_pick"]
    values = {k: st.session_state.get(k, v) for k, v in widget_defaults(lm).items()}
    values.update(pick)
    values["ab_gen"] = LINK_GENERATE  # the pick shows its top-k at once; "Open it in the Compare tab" generates
    if values["ab_site"] == "embed":
        return
    inp = compare_key(lm, values, ref_sha, reference)
    st.subheader("The picked intervention: clean vs ablated")
    kept = None
    with shown_errors("Running the picked intervention"):
        kept = run_keyed(COMPARE, lm, inp, action="Running the picked intervention", button="Run this intervention",
                         auto=True, show_stale=False, slot="ab_pick")
    if kept is not None and not kept.stale:
        st.button("Open it in the Compare tab", key="ab_pick_open", on_click=_open_in_compare,
                  args=({k: values[k] for k in ("ab_site", "ab_layer", "ab_heads", "ab_method", "ab_scale")},))
        render_comparison(lm, kept.result, "ab_pickv")


def render_sweep_head(lm: LoadedModel, prompt: str, sw: AblationSweep, *, key: str) -> None:
    """Under a head sweep: the attention pattern of the head clicked in the sweep (kept until the next click)."""
    pick = sweep_pick(sw, st.session_state.get(f"{key}_sweep_fig"))
    if pick is not None and pick.get("ab_site") == "head":
        st.session_state[f"{key}_sweep_head"] = (prompt, int(pick["ab_layer"]), int(pick["ab_heads"]))
    saved = st.session_state.get(f"{key}_sweep_head")
    if saved is None or saved[0] != prompt:
        st.caption("Click a cell of the head sweep to open that head's attention pattern here.")
        return
    _, layer, head = saved
    st.subheader(f"Attention pattern of layer {layer}, head {head}")
    render_head(lm, prompt, layer, head, key=f"{key}_sweep")
