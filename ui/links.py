"""The one builder of links into the ablation playground: its ab_* widget values for one intervention (a lens
cell, a scanned neuron, a patched component), as a relative URL or as a page switch that runs it on arrival."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from interp_core.engine.sites import resid_block_site

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.data import TokenizedCorpus
    from interp_core.patching import Component, Prepared

COMPARE_TAB = "Compare clean vs ablated"  # the playground's tab a single intervention opens in
STEER_MODE = "Steer"  # the playground's steering mode (ab_mode)
MODES = ("Ablate or patch", STEER_MODE)
STEER_SLOTS = ("sv", "sv_sweep")  # the steering mode's results, computed on arrival after a link
PLAYGROUND = "pages/ablation.py"
FRAME_KEYS = ("model", "device", "dtype")  # the sidebar's choices travel with every link
LINK_GENERATE = 0  # a followed link shows the top-k bars at once; generation waits until the user asks for it


def playground_values(prompt: str, target: str, site: str, layer: int, method: str = "zero", *,
                      pos: str = "all", pos_list: int | None = None, **extra: Any) -> dict[str, Any]:
    """The playground's widget values for one intervention (`extra`: ab_heads, ab_index, ab_cf, … by suffix)."""
    values: dict[str, Any] = {"ab_prompt": prompt, "ab_target": target, "ab_site": site, "ab_layer": int(layer),
                              "ab_method": method, "ab_pos": pos, "ab_gen": LINK_GENERATE}
    if pos_list is not None:
        values["ab_pos_list"] = str(pos_list)
    values.update({f"ab_{k}": v for k, v in extra.items()})
    return values


def patch_values(prep: Prepared, comp: Component, direction: str) -> dict[str, str]:
    """One patched component of a patching run as a playground `patch` intervention (the counterfactual is the
    other prompt; a denoising patch runs on the corrupted prompt, its positions shifted by the alignment)."""
    denoise = direction == "denoise"
    prompt, cf = (prep.corrupt_text, prep.clean_text) if denoise else (prep.clean_text, prep.corrupt_text)
    q = {"ab_prompt": prompt, "ab_cf": cf, "ab_site": comp.kind, "ab_layer": str(comp.layer), "ab_method": "patch",
         "ab_target": prep.metric.target, "ab_gen": str(LINK_GENERATE)}
    if comp.kind == "head":
        q["ab_heads"] = str(comp.index)
    if comp.kind == "neuron":
        q["ab_index"] = str(comp.index)
    if comp.position is None:
        q["ab_pos"] = "all"
    else:
        q["ab_pos"] = "chosen"
        q["ab_pos_list"] = str(comp.position + (prep.offset if denoise else 0))
    return q


def page_url(url_path: str, values: Mapping[str, Any]) -> str:
    """Relative URL of a page (its url_path) opening on these widget values."""
    return f"{url_path}?" + urlencode({k: str(v) for k, v in values.items()})


def playground_url(values: Mapping[str, Any]) -> str:
    """Relative URL of the playground showing these values."""
    return page_url("ablation", values)


def open_playground(values: Mapping[str, Any]) -> None:
    """On a click: switch to the playground's Compare tab with these values, computed on arrival like a change
    (the user asked for it), the sidebar's model choice kept."""
    import streamlit as st

    from .runner import follow_link

    follow_link({**values, "ab_tab": COMPARE_TAB}, slots=("ab",))
    frame = {k: st.query_params[k] for k in FRAME_KEYS if k in st.query_params}
    st.switch_page(PLAYGROUND, query_params={**frame, **{k: str(v) for k, v in values.items()}})


EXPLORER = "pages/neuron_explorer.py"
EXPLORER_PROMPT_TAB = "On your own prompt"


def explorer_values(layer: int, neuron: int) -> dict[str, Any]:
    """The neuron explorer's widget values that open MLP neuron `neuron` of `layer` (every tab on that neuron)."""
    return {"ne_site": "mlp", "ne_layer": int(layer), "ne_neuron": int(neuron), "ne_dim": int(neuron),
            "ne_pdim": int(neuron)}


def explorer_url(values: Mapping[str, Any]) -> str:
    """Relative URL of the neuron explorer on these values, on its own-prompt tab."""
    return "neuron_explorer?" + urlencode({**{k: str(v) for k, v in values.items()}, "ne_tab": EXPLORER_PROMPT_TAB})


def open_explorer(values: Mapping[str, Any], prompt: str) -> None:
    """On a click: switch to the neuron explorer's own-prompt tab on this neuron, with `prompt` typed in."""
    import streamlit as st

    from .runner import follow_link

    follow_link({**values, "ne_prompt_text": prompt, "ne_tab": EXPLORER_PROMPT_TAB})
    frame = {k: st.query_params[k] for k in FRAME_KEYS if k in st.query_params}
    st.switch_page(EXPLORER, query_params={**frame, **{k: str(v) for k, v in values.items()},
                                           "ne_tab": EXPLORER_PROMPT_TAB})


def open_explorer_seed(values: Mapping[str, Any]) -> None:
    """On a click: switch to the neuron explorer's seed method on these values, computed on arrival like a change
    (the user asked for it)."""
    import streamlit as st

    from .runner import follow_link

    follow_link({**values, "ne_tab": "Seed method"}, slots=("ne_seed",))
    frame = {k: st.query_params[k] for k in FRAME_KEYS if k in st.query_params}
    st.switch_page(EXPLORER, query_params={**frame, **{k: str(v) for k, v in values.items()}, "ne_tab": "Seed method"})


def steer_values(prompt: str, *, site: str = "resid_pre", layer: int, **direction: Any) -> dict[str, Any]:
    """The playground's steering-mode values (sv_*) for one direction: `direction` by suffix, e.g. src="neuron",
    neuron="3:120" or src="token", token=" Paris"."""
    values: dict[str, Any] = {"ab_mode": STEER_MODE, "sv_prompt": prompt, "sv_site": site, "sv_layer": int(layer)}
    values.update({f"sv_{k}": v for k, v in direction.items()})
    return values


STEER_CONTEXT_TOKENS = 24  # tokens before a neuron's or feature's strongest firing that become a steering prompt


def steering_prompt(lm: LoadedModel, tc: TokenizedCorpus, index: int) -> str:
    """The text just before corpus token `index` (where a neuron or feature fired hardest): a steering link's
    prompt, so the steered continuation can be compared with what the corpus wrote there."""
    lo = max(0, index - STEER_CONTEXT_TOKENS)
    return lm.tokenizer.decode([int(i) for i in tc.ids[lo:index]]) or lm.tokenizer.decode([int(tc.ids[index])])


def steer_instead_values(ab: Mapping[str, Any], n_layers: int) -> dict[str, Any]:
    """The steering view for the component an ablation removed: the same prompt and place, the direction
    towards the ablation's target token (or the neuron's own output weight; a contrast otherwise)."""
    site, layer = str(ab["ab_site"]), int(ab.get("ab_layer") or 0)
    if site == "resid":
        where, layer = resid_block_site(layer, n_layers)
    elif site in ("attn_out", "mlp_out"):
        where = site
    elif site == "head":
        where = "attn_out"
    else:  # a neuron writes into the residual stream after its block; embeddings enter block 0
        where, layer = ("resid_post", layer) if site == "neuron" else ("resid_pre", 0)
    direction: dict[str, Any] = {}
    if site == "neuron" and str(ab.get("ab_index") or "").strip():
        direction = {"src": "neuron", "neuron": f"{layer}:{str(ab['ab_index']).split(',')[0].strip()}"}
    elif str(ab.get("ab_target") or "").strip():
        direction = {"src": "token", "token": ab["ab_target"]}
    return steer_values(str(ab["ab_prompt"]), site=where, layer=layer, **direction)


def open_steering(values: Mapping[str, Any]) -> None:
    """On a click: switch to the playground's steering mode with these values, computed on arrival."""
    import streamlit as st

    from .runner import follow_link

    follow_link(values, slots=STEER_SLOTS)
    frame = {k: st.query_params[k] for k in FRAME_KEYS if k in st.query_params}
    st.switch_page(PLAYGROUND, query_params={**frame, **{k: str(v) for k, v in values.items()}})
