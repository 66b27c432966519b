"""'Which components matter?': exact activation-patching grids and the attribution-patching screen, with an
exact check of any clicked cell, an estimate-vs-exact scatter, downloads with provenance and links to each
single patch in the ablation playground. Used by pages/ablation.py."""
from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from interp_core.engine.sites import layer_label
from interp_core.patching import DEFAULT_PAIR, GRIDS, METRICS, PAIRS, SCREENS, Component, all_heads
from interp_core.plots.clickable import clicked_customdata
from interp_core.plots.patching import attribution_figure, estimate_exact_figure, grid_figure

from ..charts import chart
from ..downloads import figure_download, json_download, table_downloads
from ..jobs.base import model_id
from ..jobs.patching import ATTRIBUTION, CHECK, GRID, SCATTER, CheckKey, GridKey, PairKey, ScatterKey
from ..links import patch_values, playground_url
from ..runner import run_keyed
from ..state import as_bool, publish, seed

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.patching import Attribution, Prepared

CUSTOM = "(your own prompts)"
MODES = {"attribution": "Attribution screen (every head, neuron and cell: 2 forwards + 1 backward)",
         "exact": "Exact grid (one patched run per cell, batched)"}


def _use_pair() -> None:
    pair = PAIRS.get(st.session_state["pt_pair"])
    if pair is not None:
        for k, v in (("pt_clean", pair.clean), ("pt_corrupt", pair.corrupt), ("pt_target", pair.target),
                     ("pt_foil", pair.foil)):
            st.session_state[k] = v


def _inputs(lm: LoadedModel) -> PairKey:
    s = st.session_state
    return PairKey(model_id(lm), s["pt_clean"], s["pt_corrupt"], s["pt_target"], s["pt_foil"] or None,
                   s["pt_metric"], "end" if s["pt_align"] else "refuse")


def link(prep: Prepared, comp: Component, direction: str) -> str:
    """Relative URL of the ablation playground showing this one patch in full."""
    return playground_url(patch_values(prep, comp, direction))


def _with_provenance(frame, prep):
    """A downloadable table: every row carries the prompts, metric and model identity."""
    m = prep.metric
    return frame.assign(clean=prep.clean_text, corrupt=prep.corrupt_text, metric=m.kind, target=m.target,
                        foil=m.foil, model=prep.model_name, model_identity=prep.model)


def _clicked(chart_key: str, seen_key: str):
    """(row id, column id) of a newly clicked cell of a cell_figure chart, else None."""
    cd = clicked_customdata(st.session_state.get(chart_key))
    if cd is None:
        return None
    cell = (int(round(cd[0])), int(round(cd[1])))
    if st.session_state.get(seen_key) == cell:
        return None
    st.session_state[seen_key] = cell
    return cell


def render_patching(lm: LoadedModel) -> None:
    """The whole tab for the loaded model."""
    info = lm.info
    pair = PAIRS[DEFAULT_PAIR]
    seed("pt_pair", DEFAULT_PAIR, choices=[*PAIRS, CUSTOM])
    seed("pt_clean", pair.clean)
    seed("pt_corrupt", pair.corrupt)
    seed("pt_target", pair.target)
    seed("pt_foil", pair.foil)
    seed("pt_metric", "logit_diff", choices=list(METRICS))
    seed("pt_align", False, as_bool)
    seed("pt_mode", "attribution", choices=list(MODES))
    seed("pt_grid", "resid", choices=list(GRIDS))
    st.caption("Run a clean and a corrupted prompt and patch components from one into the other, to find which of "
               "thousands carry the answer. Exact patching runs every cell; attribution patching estimates every "
               "cell at once from gradients, and any cell can be checked exactly with a click.")
    chosen = PAIRS.get(st.session_state["pt_pair"])
    if chosen is not None and (chosen.clean, chosen.corrupt, chosen.target, chosen.foil) != tuple(
            st.session_state[k] for k in ("pt_clean", "pt_corrupt", "pt_target", "pt_foil")):
        st.session_state["pt_pair"] = CUSTOM  # edited prompts are no longer the ready-made pair
    st.selectbox("Ready-made pair", [*PAIRS, CUSTOM], key="pt_pair", on_change=_use_pair,
                 format_func=lambda n: n if n == CUSTOM else f"{n} — {PAIRS[n].about}")
    c1, c2 = st.columns(2)
    c1.text_input("Clean prompt", key="pt_clean")
    c2.text_input("Corrupted prompt", key="pt_corrupt")
    d1, d2, d3 = st.columns([1, 1, 2])  # the metric's labels are long: a column wide enough to read them whole
    d1.text_input("Target (clean answer)", key="pt_target")
    d2.text_input("Foil (corrupted answer)", key="pt_foil")
    d3.selectbox("Metric", list(METRICS), key="pt_metric", format_func=METRICS.get)
    st.checkbox("Align prompts of different lengths from the end", key="pt_align",
                help="Off: prompts of different lengths are refused, since patching pairs positions one to one.")
    mode = st.radio("Method", list(MODES), key="pt_mode", format_func=MODES.get, horizontal=True)
    publish("pt_pair", "pt_clean", "pt_corrupt", "pt_target", "pt_foil", "pt_metric", "pt_align", "pt_mode")
    inp = _inputs(lm)
    if mode == "exact":
        _render_exact(lm, inp)
    else:
        _render_attribution(lm, inp, info)


def _render_exact(lm: LoadedModel, inp: PairKey) -> None:
    grid = st.radio("Grid", list(GRIDS), key="pt_grid", format_func=GRIDS.get, horizontal=True)
    publish("pt_grid")
    kept = run_keyed(GRID, lm, GridKey(**inp.__dict__, grid=grid), action="Patching every cell", button="Run grid",
                     auto=True)  # by itself when the estimate fits the page's budget (a followed link too)
    if kept is None:
        return
    g = kept.result
    m = g.metric
    st.caption(f"{g.values.size} patched runs in {g.seconds:.2f} s · {g.direction}: clean activation patched into "
               f"the corrupted run · clean {m.kind} = {m.clean:.4f}, corrupted = {m.corrupt:.4f}")
    fig = grid_figure(g)
    chart(fig, key="pt_grid_fig", on_select="rerun", selection_mode="points")
    cell = _clicked("pt_grid_fig", "pt_grid_seen")
    if cell is not None:
        st.session_state["pt_grid_cell"] = cell
    sel = st.session_state.get("pt_grid_cell")
    if sel is not None and sel[0] in g.layers and sel[1] in g.columns:
        comp = g.component(*sel)
        st.markdown(f"**{comp.label()}**: metric after patch = **{g.value(*sel):.4f}** · "
                    f"[open this patch in the ablation playground]({link(g.prep, comp, g.direction)})")
    else:
        st.caption("Click a cell for its value and a link to that single patch in the ablation playground.")
    frame = _with_provenance(g.frame(), g.prep)
    frame["playground"] = [link(g.prep, g.component(int(r.layer), int(r.head if g.grid == "heads" else r.position)),
                                g.direction) for r in g.frame().itertuples()]
    st.dataframe(frame.drop(columns=["clean", "corrupt", "model_identity"]), hide_index=True,
                 column_config={"playground": st.column_config.LinkColumn("playground", display_text="open")})
    table_downloads(frame, f"patching_{g.grid}", "pt_grid_tbl")
    json_download(g.to_dict(), f"patching_{g.grid}", "pt_grid_json", "⬇ Grid with provenance (JSON, CLI format)")
    figure_download(fig, f"patching_{g.grid}", "pt_grid_fig_dl")


def _render_attribution(lm: LoadedModel, inp: PairKey, info) -> None:
    kept = run_keyed(ATTRIBUTION, lm, inp, action="Attribution patching", button="Run attribution screen", auto=True)
    if kept is None:
        return
    attr = kept.result
    m = attr.metric
    st.caption(f"Estimated in {attr.seconds:.2f} s · each value ≈ the change of the metric ({m.kind}; clean "
               f"{m.clean:.4f}, corrupted {m.corrupt:.4f}) when that component's corrupted activation is patched "
               "into the clean run: (corrupted − clean) · gradient.")
    seed("pt_view", "head", choices=list(SCREENS))
    v1, v2 = st.columns([3, 1])
    view = v1.radio("Show", list(SCREENS), key="pt_view", format_func=SCREENS.get, horizontal=True)
    st.session_state.setdefault("pt_topn", 10)
    if view == "neuron":
        v2.number_input("Neurons per layer", 1, 50, key="pt_topn")
    publish("pt_view")
    fig = attribution_figure(attr, view, neurons_per_layer=int(st.session_state["pt_topn"]))
    _pick_state(attr, view, info)
    chart(fig, key=f"pt_attr_fig_{view}", on_select="rerun", selection_mode="points")
    figure_download(fig, f"attribution_{view}", "pt_attr_fig_dl")
    _render_check(lm, attr, view, inp)
    _render_scatter(lm, attr, view, inp)
    frame = _with_provenance(attr.frame(), attr.prep)
    with st.expander("Every estimate (all heads, neurons and cells)"):
        st.dataframe(attr.frame(view) if view != "neuron" else attr.top_neurons(int(st.session_state["pt_topn"])),
                     hide_index=True)
    table_downloads(frame, "attribution_patching", "pt_attr_tbl")
    json_download(attr.to_dict(), "attribution_patching", "pt_attr_json",
                  "⬇ Every estimate with provenance (JSON, CLI format)")


def _pick_state(attr, view: str, info) -> None:
    """Clamp the picked cell to this view and apply a new click (before the pickers are drawn)."""
    cols = {"head": list(range(info.n_heads)), "neuron": list(range(info.d_mlp))}.get(view, list(attr.prep.positions))
    n_rows = attr.matrix(view).shape[0]
    cell = _clicked(f"pt_attr_fig_{view}", f"pt_attr_seen_{view}")
    if cell is not None:
        st.session_state["pt_cell_layer"], st.session_state[f"pt_cell_col_{view}"] = cell
    st.session_state.setdefault("pt_cell_layer", 0)
    if not 0 <= int(st.session_state["pt_cell_layer"]) < n_rows:
        st.session_state["pt_cell_layer"] = 0
    if st.session_state.get(f"pt_cell_col_{view}") not in cols:
        st.session_state[f"pt_cell_col_{view}"] = cols[0] if view != "resid" else cols[-1]


def _component(attr, view: str) -> Component:
    layer, col = int(st.session_state["pt_cell_layer"]), int(st.session_state[f"pt_cell_col_{view}"])
    if view in ("head", "neuron"):
        return Component(view, layer, None, col)
    return Component(view, layer, col)


def _render_check(lm: LoadedModel, attr: Attribution, view: str, inp: PairKey) -> None:
    st.subheader("Exact check of one cell")
    st.caption("Click any cell above (or pick it here): its exact patch runs at once, beside the estimate.")
    n_rows = attr.matrix(view).shape[0]
    p1, p2, p3 = st.columns([1, 1, 3])
    p1.selectbox("Layer", list(range(n_rows)), key="pt_cell_layer",
                 format_func=lambda l: layer_label(view, l))
    if view == "head":
        p2.selectbox("Head", list(range(attr.heads.shape[1])), key="pt_cell_col_head")
    elif view == "neuron":
        p2.number_input("Neuron", 0, attr.neurons.shape[1] - 1, key="pt_cell_col_neuron")
    else:
        p2.selectbox("Position", list(attr.prep.positions), key=f"pt_cell_col_{view}",
                     format_func=lambda p: f"{p}: {attr.prep.position_label(p)}")
    comp = _component(attr, view)
    kept = run_keyed(CHECK, lm, CheckKey(**inp.__dict__, component=repr(comp), comp=comp, attribution=attr),
                     action="Exact patch of this cell", auto=True, show_stale=False)
    if kept is None:
        return
    ch = kept.result
    with p3:
        a, b, c = st.columns(3)
        a.metric(f"Estimate · {comp.label()}", f"{ch.estimates[0]:+.4f}")
        b.metric("Exact patch", f"{ch.exact[0]:+.4f}", f"{ch.estimates[0] - ch.exact[0]:+.4f} estimate − exact",
                 delta_color="off")
        c.markdown(f"[Open this patch in the ablation playground]({link(attr.prep, comp, 'noise')})")


def _render_scatter(lm: LoadedModel, attr: Attribution, view: str, inp: PairKey) -> None:
    neurons = view == "neuron"
    st.subheader("Where the linear approximation holds")
    n = int(st.session_state["pt_topn"])
    if neurons:
        top = attr.top_neurons(n)
        comps = [Component("neuron", int(r.layer), None, int(r.neuron)) for r in top.itertuples()]
        what, slot = f"the top {n} neurons of every layer ({len(comps)} patched runs)", "pt_scatter_neurons"
    else:
        comps = all_heads(lm)
        what, slot = f"every head ({len(comps)} patched runs)", "pt_scatter_heads"
    key = ScatterKey(**inp.__dict__, n=n if neurons else None, comps=tuple(comps), attribution=attr)
    kept = run_keyed(SCATTER, lm, key, action=f"Exact patch of {what}", button=f"Check {what} exactly", slot=slot)
    if kept is None:
        return
    ch = kept.result
    corr = "n/a" if ch.correlation is None else f"{ch.correlation:.3f}"
    st.caption(f"{len(ch.components)} exact patches in {ch.seconds:.2f} s · correlation(estimate, exact) = {corr}")
    fig = estimate_exact_figure(ch.frame())
    chart(fig, key=f"{slot}_fig")
    frame = _with_provenance(ch.frame(), attr.prep)
    table_downloads(frame, slot.removeprefix("pt_"), f"{slot}_tbl")
    json_download({**ch.to_dict(), "provenance": attr.prep.provenance()}, slot.removeprefix("pt_"), f"{slot}_json",
                  "⬇ Estimate vs exact (JSON)")
