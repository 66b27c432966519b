"""A neuron on your own prompt (neuron explorer): its activation on every token as a coloured text heatmap,
and the layer's top neurons at a clicked token; clicking one of them opens that neuron."""
from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from interp_core.plots.components import prompt_heatmap_html, prompt_tokens_figure, top_neurons_figure
from interp_core.plots.clickable import clicked_value

from ..charts import chart
from ..downloads import table_downloads
from ..jobs.neurons import PROMPT, prompt_key
from ..runner import run_keyed

if TYPE_CHECKING:
    from interp_core import LoadedModel

PENDING = "_ne_open_neuron"  # a clicked neuron waits here until the page's neuron widgets are drawn again


def apply_pending(*keys: str) -> None:
    """Move a neuron clicked in the last run into the page's neuron widgets; call before drawing them."""
    n = st.session_state.pop(PENDING, None)
    if n is not None:
        for k in keys:
            st.session_state[k] = int(n)


def _open_picked(pick_key: str) -> None:
    """Selectbox callback (runs before the script, so it may set the neuron box): open the picked neuron."""
    n = st.session_state.get(pick_key)
    if n is not None:
        st.session_state["ne_pdim"] = st.session_state[PENDING] = int(n)
    st.session_state[pick_key] = None


def _clicked_x(event) -> int | None:
    x = clicked_value(event, "x", curve=0)
    return None if x is None else int(round(x))


def _clicked_neuron(event) -> int | None:
    y = clicked_value(event, "y", curve=0)
    return None if y is None else int(str(y).lstrip("#"))


def render_neuron_prompt(lm: LoadedModel, site: str, layer: int, dim: int, *, key: str, default_prompt: str) -> None:
    """The typed-prompt view for (site, layer, dim); `key` namespaces its widgets."""
    p_key = f"{key}_prompt_text"
    st.session_state.setdefault(p_key, default_prompt)
    prompt = st.text_area("Your prompt", key=p_key, height=80)
    kept = run_keyed(PROMPT, lm, prompt_key(lm, prompt, site, layer, dim), action="Running your prompt", auto=True,
                     show_stale=False)
    if kept is None or kept.stale:
        return
    pa = kept.result
    pos_key = f"{key}_prompt_pos"
    t = len(pa.tokens)
    click = _clicked_x(st.session_state.get(f"{key}_prompt_tokens"))
    if click is not None and st.session_state.get(f"{key}_prompt_last") != (prompt, click):
        st.session_state[f"{key}_prompt_last"] = (prompt, click)
        st.session_state[pos_key] = click
    if not isinstance(st.session_state.get(pos_key), int) or not 0 <= st.session_state[pos_key] < t:
        st.session_state[pos_key] = int(abs(pa.values).argmax())
    pos = int(st.session_state[pos_key])
    st.markdown(f"**{site} L{layer} #{dim} on your prompt** (hover a token for its value; special tokens included)")
    st.html(prompt_heatmap_html(pa, selected=pos))
    chart(prompt_tokens_figure(pa, selected=pos), key=f"{key}_prompt_tokens", on_select="rerun",
                    selection_mode="points")
    st.number_input(f"Token position (0–{t - 1}; or click a token above)", min_value=0, max_value=t - 1, step=1,
                    key=pos_key)
    left, right = st.columns([3, 2])
    chart(top_neurons_figure(pa, pos), key=f"{key}_prompt_top", on_select="rerun",
                      selection_mode="points", where=left)
    top = pa.top_at(pos)
    with right:
        st.caption(f"The layer's top {len(top)} at this token; click one (or pick it here) to open it.")
        st.selectbox("Open neuron", [None, *top["dim"].tolist()], key=f"{key}_prompt_pick",
                     format_func=lambda d: "—" if d is None else f"#{d}", on_change=_open_picked,
                     args=(f"{key}_prompt_pick",))
    table_downloads(pa.frame(), f"neuron_{site}{layer}_{dim}_prompt", f"{key}_prompt_dl")


def render_prompt_tab(lm: LoadedModel, site: str, layer: int, width: int, *, default_prompt: str) -> int:
    """The neuron explorer's "On your own prompt" tab: pick a neuron, type a prompt, see it fire; returns the neuron."""
    # a click on the top-neurons chart arrives in its state before the neuron box is drawn again: apply it
    # here, in the same run (the other tabs' boxes, drawn earlier in this run, follow on the next one)
    event = st.session_state.get("ne_prompt_top")
    chosen = _clicked_neuron(event)
    if chosen is not None and st.session_state.get("_ne_top_seen") != repr(event):
        st.session_state["_ne_top_seen"] = repr(event)
        if 0 <= chosen < width:
            st.session_state["ne_pdim"] = st.session_state[PENDING] = chosen
    st.number_input(f"Neuron / dimension (0–{width - 1})", min_value=0, max_value=width - 1, step=1, key="ne_pdim")
    dim = int(st.session_state["ne_pdim"])
    render_neuron_prompt(lm, site, layer, dim, key="ne", default_prompt=default_prompt)
    return dim
