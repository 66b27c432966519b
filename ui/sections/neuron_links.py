"""Where a scanned neuron leads: "ablate this neuron" (the ablation playground on a prompt cut from its
strongest context, the neuron zeroed, result computed on arrival) and "see it on my prompt" (the explorer's
own-prompt tab on this neuron). Both carry their inputs in the URL."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from ..links import open_playground, playground_values

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.data import TokenizedCorpus

PROMPT_TAB = "On your own prompt"
CONTEXT_TOKENS = 24  # tokens of the top context before the firing token that become the prompt


def ablation_values(lm: LoadedModel, tc: TokenizedCorpus, layer: int, neuron: int, index: int) -> dict[str, Any]:
    """The ablation playground's inputs for zeroing `neuron` on the prompt that ends at corpus token `index`
    (where it fired hardest), predicting the token that followed it in the corpus."""
    lo = max(0, index - CONTEXT_TOKENS)
    prompt = lm.tokenizer.decode([int(i) for i in tc.ids[lo:index + 1]])
    nxt = lm.tokenizer.decode([int(tc.ids[index + 1])]) if index + 1 < len(tc.ids) else ""
    return playground_values(prompt, nxt, "neuron", layer, index=str(int(neuron)))


def _see_on_prompt(neuron: int) -> None:
    st.session_state["_ne_open_neuron"] = int(neuron)  # ui.sections.neuron_prompt.PENDING: applied next run
    st.session_state["ne_tab"] = PROMPT_TAB


def render_neuron_links(lm: LoadedModel, tc: TokenizedCorpus, site: str, layer: int, neuron: int, contexts: list[dict]) -> None:
    c1, c2 = st.columns(2)
    if site == "mlp" and contexts and lm.info.has_lm_head and not lm.info.masked_lm:
        values = ablation_values(lm, tc, layer, neuron, int(contexts[0]["index"]))
        if c1.button("✂️ Ablate this neuron", key="ne_ablate_neuron",
                     help=f"Zero neuron {neuron} of MLP layer {layer} on its strongest context and compare the "
                          f"prediction of the next corpus token {values['ab_target']!r}."):
            open_playground(values)
    c2.button("🔎 See it on my prompt", key="ne_see_on_prompt", on_click=_see_on_prompt, args=(neuron,),
              help="Open the 'On your own prompt' tab on this neuron.")
