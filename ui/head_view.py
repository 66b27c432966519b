"""One attention head's pattern and token view, drawn by every section that opens a head (the attention
section, DLA's clicked head, the ablation playground's head sweep); the patterns come from the shared job."""
from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from interp_core.plots.components import MAX_TOKEN_VIEW, attention_tokens_html, pattern_figure

from .charts import chart
from .jobs.attention import PATTERNS, patterns_key
from .runner import run_keyed

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.components import AttentionPatterns


def patterns(lm: LoadedModel, prompt: str) -> AttentionPatterns | None:
    """The AttentionPatterns of `prompt` (computed once per model and prompt, for every session), or None."""
    kept = run_keyed(PATTERNS, lm, patterns_key(lm, prompt), action="Capturing attention patterns", auto=True,
                     show_stale=False)
    return None if kept is None or kept.stale else kept.result


def focus_head(key: str, layer: int, head: int) -> None:
    """Make (layer, head) the head the section under `key` shows (call before the section is drawn)."""
    st.session_state[f"{key}_attn_layer"], st.session_state[f"{key}_attn_head"] = int(layer), int(head)


def render_head(lm: LoadedModel, prompt: str, layer: int, head: int, *, key: str) -> None:
    """One head's pattern and its token view (reuses the patterns already captured for this prompt)."""
    ap = patterns(lm, prompt)
    if ap is None:
        return
    chart(pattern_figure(ap, layer, head), key=f"{key}_attn_one")
    if len(ap.tokens) <= MAX_TOKEN_VIEW:
        st.caption("Hover a token: the prompt below it is shaded by where that token attends (darker = more weight).")
        st.html(attention_tokens_html(ap, layer, head))
