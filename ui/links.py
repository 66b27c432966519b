"""The one builder of links into the ablation playground: its ab_* widget values for one intervention (a lens
cell, a scanned neuron, a patched component), as a relative URL or as a page switch that runs it on arrival."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from interp_core.patching import Component, Prepared

COMPARE_TAB = "Compare clean vs ablated"  # the playground's tab a single intervention opens in
PLAYGROUND = "pages/ablation.py"
FRAME_KEYS = ("model", "device", "dtype")  # the sidebar's choices travel with every link


def playground_values(prompt: str, target: str, site: str, layer: int, method: str = "zero", *,
                      pos: str = "all", pos_list: int | None = None, **extra: Any) -> dict[str, Any]:
    """The playground's widget values for one intervention (`extra`: ab_heads, ab_index, ab_cf, … by suffix)."""
    values: dict[str, Any] = {"ab_prompt": prompt, "ab_target": target, "ab_site": site, "ab_layer": int(layer),
                              "ab_method": method, "ab_pos": pos}
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
         "ab_target": prep.metric.target}
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


def playground_url(values: Mapping[str, Any]) -> str:
    """Relative URL of the playground showing these values."""
    return "ablation?" + urlencode({k: str(v) for k, v in values.items()})


def open_playground(values: Mapping[str, Any]) -> None:
    """On a click: switch to the playground's Compare tab with these values, computed on arrival like a change
    (the user asked for it), the sidebar's model choice kept."""
    import streamlit as st

    from .runner import follow_link

    follow_link({**values, "ab_tab": COMPARE_TAB}, slots=("ab",))
    frame = {k: st.query_params[k] for k in FRAME_KEYS if k in st.query_params}
    st.switch_page(PLAYGROUND, query_params={**frame, **{k: str(v) for k, v in values.items()}})
