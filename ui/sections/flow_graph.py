"""The information flow graph of a prompt: the dense contributions (computed once per model and prompt), cut at
the chosen token and threshold, drawn with clickable nodes and edges. A click is kept in ?fl_sel= so a copied
link reopens the same selection."""
from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from interp_core.flow import flow_graph
from interp_core.plots.flow import clicked_flow, flow_figure

from ..downloads import json_download, table_downloads
from ..jobs.flow import FLOW, flow_key
from ..runner import run_keyed, wait_for_warmup
from ..charts import chart

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.flow import FlowGraph

Selection = tuple[str, int, int, int]


def encode_selection(sel: Selection | None) -> str:
    return "" if sel is None else ":".join(str(x) for x in sel)


def decode_selection(text: str) -> Selection | None:
    """'what:layer:src:dst' (what may itself be 'node:resid') -> the tuple, or None when it does not parse."""
    parts = (text or "").rsplit(":", 3)
    if len(parts) != 4:
        return None
    try:
        return parts[0], int(parts[1]), int(parts[2]), int(parts[3])
    except ValueError:
        return None


def valid_selection(g: FlowGraph, sel: Selection | None) -> Selection | None:
    """`sel` when it names a node or edge of `g` (a stale link or another prompt's click: None)."""
    if sel is None:
        return None
    what, layer, src, dst = sel
    if what.startswith("node:") or what == "mlp":
        kind = what.split(":", 1)[1] if what.startswith("node:") else "mlp"
        return sel if any((n.kind, n.layer, n.position) == (kind, layer, src) for n in g.nodes) else None
    return sel if any((e.kind, e.layer, e.source, e.destination) == sel for e in g.edges) else None


def render_flow_graph(lm: LoadedModel, prompt: str, token: int, threshold: float) -> tuple[FlowGraph, Selection | None] | None:
    """Draw the graph; returns it with the current (valid) selection, or None while there is no result."""
    key = flow_key(lm, prompt)
    wait_for_warmup(lm, FLOW, key)
    kept = run_keyed(FLOW, lm, key, action="Tracing the information flow", button="Trace the flow", auto=True,
                     show_stale=False)
    if kept is None or kept.stale:
        return None
    c = kept.result
    g = flow_graph(c, token, threshold)
    event = st.session_state.get("fl_graph")
    click = clicked_flow(event)
    if click is not None and st.session_state.get("_fl_seen") != repr(event):  # a new click: it wins
        st.session_state["_fl_seen"] = repr(event)
        st.session_state["fl_sel"] = encode_selection(click)
        st.session_state["fl_head"] = -1
    sel = valid_selection(g, decode_selection(st.session_state.get("fl_sel", "")))
    chart(flow_figure(g, selected=sel), key="fl_graph", on_select="rerun", selection_mode="points")
    st.caption(f"Blue: attention from a source token (heads summed); orange squares: MLPs; grey: the residual "
               f"stream. Width and opacity: the share after the threshold, renormalised at each node. "
               f"{c.method} {c.frozen} {len(g.nodes)} nodes, {len(g.edges)} edges. Click a node, an edge's diamond "
               "or an MLP square.")
    with st.expander("Download the graph and the dense contributions"):
        name = f"flow_{lm.info.name.replace('/', '_')}"
        table_downloads(g.frame(), f"{name}_edges", "fl_dl_edges")
        json_download(g.to_dict, name, "fl_dl_json", "⬇ Graph and contributions (JSON, CLI format)")
    return g, sel
