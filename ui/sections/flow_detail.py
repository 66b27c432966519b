"""What a click on the flow graph opens: a node's logit lens and what its block promoted and suppressed; an
attention edge's heads ranked (a head: its pattern and the tokens it promotes and suppresses); an MLP's top
neurons with links into the neuron explorer; "Ablate this" into the ablation playground."""
from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from interp_core.plots.clickable import clicked_value
from interp_core.plots.flow import heads_figure

from ..errors import shown_errors
from ..head_view import render_head
from ..jobs.flow import FLOW_NEURONS, HEAD_TOKENS, NODE_TOKENS, head_key, neurons_key, node_key
from ..links import explorer_url, explorer_values, open_explorer, open_playground, playground_values
from ..runner import run_keyed
from ..charts import chart

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.flow import FlowGraph, TokenLists

N_NEURON_LINKS = 5


def _token_lists(tl: TokenLists, key: str) -> None:
    names = list(dict.fromkeys(tl.table["list"]))
    cols = st.columns(len(names))
    for col, name in zip(cols, names):
        col.markdown(f"**{name}**")
        col.dataframe(tl.ranked(name)[["rank", "token", "value"]], hide_index=True, key=f"{key}_{name}")
    st.caption(tl.note)


def _target(lm: LoadedModel, prompt: str, g: FlowGraph) -> str | None:
    """The model's own prediction at the graph's token: what an ablation from here is measured on."""
    if lm.info.masked_lm or not lm.info.has_lm_head:
        return None
    kept = run_keyed(NODE_TOKENS, lm, node_key(lm, prompt, "resid", g.contributions.n_layers, g.token),
                     action="Reading the prediction", auto=True, show_stale=False)
    return None if kept is None or kept.stale else str(kept.result.ranked("top")["token"].iloc[0])


def _ablate_button(lm: LoadedModel, prompt: str, g: FlowGraph, label: str, site: str, layer: int, position: int,
                   **extra: str) -> None:
    target = _target(lm, prompt, g)
    if target is None:
        return
    values = playground_values(prompt, target, site, layer, pos="chosen", pos_list=position, **extra)
    if st.button(f"✂️ Ablate this {label}", key="fl_ablate",
                 help=f"Zero it at position {position} in the ablation playground and compare the prediction of "
                      f"{target!r}."):
        open_playground(values)


def render_flow_detail(lm: LoadedModel, prompt: str, g: FlowGraph, sel: tuple[str, int, int, int] | None) -> None:
    if sel is None:
        st.caption("Click a node to read it with the logit lens, an attention edge for its heads, or an MLP square "
                   "for its neurons.")
        return
    what, layer, src, dst = sel
    toks = g.tokens
    if what.startswith("node:"):
        kind = what.split(":", 1)[1]
        n = g.contributions.n_layers
        where = (f"after attention {layer}" if kind == "mid" else "at the last layer" if layer == n
                 else "at the embeddings" if layer == 0 else f"entering layer {layer}")
        st.subheader(f"Residual {where} at {src} ({toks[src]!r})")
        with shown_errors("Reading the node"):
            kept = run_keyed(NODE_TOKENS, lm, node_key(lm, prompt, kind, layer, src), action="Reading the node",
                             auto=True, show_stale=False)
            if kept is not None and not kept.stale:
                _token_lists(kept.result, "fl_node")
    elif what == "mlp":  # an MLP square or the edge through it
        _render_mlp(lm, prompt, g, layer, dst)
    elif what == "attn":
        _render_edge(lm, prompt, g, layer, src, dst)
    else:
        block = "attention" if what == "attn_resid" else "MLP"
        st.subheader(f"Residual stream past the {block} of layer {layer} at {dst} ({toks[dst]!r})")
        c = g.contributions
        share = c.attn_resid[layer, dst] if what == "attn_resid" else c.mlp_resid[layer, dst]
        st.write(f"The state before the block keeps a share of **{share:.3f}** of the sum after it.")


def _render_mlp(lm: LoadedModel, prompt: str, g: FlowGraph, layer: int, pos: int) -> None:
    st.subheader(f"MLP {layer} at {pos} ({g.tokens[pos]!r}): share {g.contributions.mlp[layer, pos]:.3f}")
    with shown_errors("Splitting the MLP per neuron"):
        kept = run_keyed(FLOW_NEURONS, lm, neurons_key(lm, prompt, layer, pos), action="Splitting the MLP per neuron",
                         auto=True, show_stale=False)
        if kept is None or kept.stale:
            return
        nc = kept.result
        top = nc.top(20)
        st.caption(f"Each neuron's share of the MLP block's sum here (the residual keeps {nc.residual:.3f}). "
                   f"{nc.frozen}")
        left, right = st.columns([3, 2])
        left.dataframe(top, hide_index=True, key="fl_neurons_top")
        with right:
            st.markdown("**Open in the neuron explorer**")
            for n in top["neuron"].head(N_NEURON_LINKS).tolist():
                values = explorer_values(layer, int(n))
                c1, c2 = st.columns([2, 1])
                if c1.button(f"🧠 neuron {n}", key=f"fl_open_neuron_{n}",
                             help=f"MLP {layer} neuron {n} on this prompt in the neuron explorer."):
                    open_explorer(values, prompt)
                c2.markdown(f"[link]({explorer_url(values)})")
    _ablate_button(lm, prompt, g, "MLP", "mlp_out", layer, pos)


def _render_edge(lm: LoadedModel, prompt: str, g: FlowGraph, layer: int, src: int, dst: int) -> None:
    c = g.contributions
    toks = g.tokens
    st.subheader(f"Attention {layer}: {toks[src]!r} ({src}) → {toks[dst]!r} ({dst}), "
                 f"share {c.edges()[layer, dst, src]:.3f}")
    heads = c.heads(layer, dst, src)
    event = st.session_state.get("fl_heads_fig")
    x = clicked_value(event, "x", curve=0)
    if x is not None and st.session_state.get("_fl_heads_seen") != repr(event):
        st.session_state["_fl_heads_seen"] = repr(event)
        st.session_state["fl_head"] = int(str(x).lstrip("H"))
    left, right = st.columns([3, 2])
    chart(heads_figure(c.attn[layer, dst, src], c.n_heads // max(1, c.n_kv_heads)), key="fl_heads_fig",
          where=left, on_select="rerun", selection_mode="points")
    right.dataframe(heads.head(8), hide_index=True, key="fl_heads_table")
    options = [-1, *heads["head"].tolist()]
    if st.session_state.get("fl_head", -1) not in options:
        st.session_state["fl_head"] = -1
    st.selectbox("Head", options, key="fl_head",
                 format_func=lambda h: "pick a head (or click a bar)" if h == -1 else
                 f"head {h} (share {c.attn[layer, dst, src, h]:.3f})")
    head = int(st.session_state["fl_head"])
    if head < 0:
        return
    st.markdown(f"**Layer {layer}, head {head}: its attention pattern**")
    with shown_errors("Drawing the attention pattern"):
        render_head(lm, prompt, layer, head, key="fl")
    if not lm.info.masked_lm and lm.info.has_lm_head:
        st.markdown(f"**What head {head}'s output at {toks[dst]!r} promotes and suppresses**")
        with shown_errors("Reading the head"):
            kept = run_keyed(HEAD_TOKENS, lm, head_key(lm, prompt, layer, head, dst), action="Reading the head",
                             auto=True, show_stale=False)
            if kept is not None and not kept.stale:
                _token_lists(kept.result, "fl_head_tokens")
    _ablate_button(lm, prompt, g, "head", "head", layer, dst, heads=str(head))
