"""Where a scanned neuron leads: "ablate this neuron" (the ablation playground on a prompt cut from its
strongest context, the neuron zeroed, result computed on arrival), "steer with this neuron" (the playground's
steering mode adding the neuron's output weight on that context) and "see it on my prompt" (the explorer's
own-prompt tab on this neuron). All carry their inputs in the URL."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from ..links import open_playground, open_steering, playground_values, steer_values, steering_prompt

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.data import TokenizedCorpus

PROMPT_TAB = "On your own prompt"
CONTEXT_TOKENS = 24  # tokens of the top context before the firing token that become the ablation prompt
NEURON_ALPHA = 0.2  # "steer with this neuron": α as a multiple of the site's typical norm


def ablation_values(lm: LoadedModel, tc: TokenizedCorpus, layer: int, neuron: int, index: int) -> dict[str, Any]:
    """The ablation playground's inputs for zeroing `neuron` on the prompt that ends at corpus token `index`
    (where it fired hardest), predicting the token that followed it in the corpus."""
    lo = max(0, index - CONTEXT_TOKENS)
    prompt = lm.tokenizer.decode([int(i) for i in tc.ids[lo:index + 1]])
    nxt = lm.tokenizer.decode([int(tc.ids[index + 1])]) if index + 1 < len(tc.ids) else ""
    return playground_values(prompt, nxt, "neuron", layer, index=str(int(neuron)))


def steering_values(lm: LoadedModel, tc: TokenizedCorpus, layer: int, neuron: int, index: int) -> dict[str, Any]:
    """The playground's steering mode adding `neuron`'s output weight after its block, on the prompt that ends
    just before corpus token `index` (where it fired hardest)."""
    prompt = steering_prompt(lm, tc, index)
    return steer_values(prompt, site="resid_post", layer=layer, src="neuron", neuron=f"{layer}:{int(neuron)}",
                        alpha=NEURON_ALPHA, unit="norm")


def _see_on_prompt(neuron: int) -> None:
    """Button callback (runs before the script): the prompt tab's own neuron box opens on this neuron too."""
    st.session_state["_ne_open_neuron"] = int(neuron)  # ui.sections.neuron_prompt.PENDING: applied next run
    st.session_state["ne_pdim"] = int(neuron)
    st.session_state["ne_tab"] = PROMPT_TAB


def render_neuron_links(lm: LoadedModel, tc: TokenizedCorpus, site: str, layer: int, neuron: int,
                        contexts: list[dict]) -> None:
    c1, c2, c3 = st.columns(3)
    if site == "mlp" and contexts and lm.info.has_lm_head and not lm.info.masked_lm:
        values = ablation_values(lm, tc, layer, neuron, int(contexts[0]["index"]))
        if c1.button("✂️ Ablate this neuron", key="ne_ablate_neuron",
                     help=f"Zero neuron {neuron} of MLP layer {layer} on its strongest context and compare the "
                          f"prediction of the next corpus token {values['ab_target']!r}."):
            open_playground(values)
        if c3.button("🧭 Steer with this neuron", key="ne_steer_neuron",
                     help=f"Add neuron {neuron}'s output weight after block {layer} on the text before its strongest "
                          "context and compare the clean and steered continuations."):
            open_steering(steering_values(lm, tc, layer, neuron, int(contexts[0]["index"])))
    c2.button("🔎 See it on my prompt", key="ne_see_on_prompt", on_click=_see_on_prompt, args=(neuron,),
              help="Open the 'On your own prompt' tab on this neuron.")
