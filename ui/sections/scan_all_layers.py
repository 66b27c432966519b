"""Neuron explorer: scan every layer of the site in one pass; afterwards any layer opens from the disk cache."""
from __future__ import annotations

import streamlit as st

from typing import TYPE_CHECKING, Any

from interp_core.engine.sites import CHOICES
from interp_core.neurons import cached_layers
from interp_core.settings import load_settings

from ..errors import shown_errors
from ..jobs.base import model_id
from ..jobs.scan import SCAN_ALL, ScanAllKey, scan_options
from ..runner import run_keyed

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.data import Corpus, TokenizedCorpus


def render_scan_all_layers(lm: LoadedModel, tc: TokenizedCorpus, corpus: Corpus, kw: dict[str, Any]) -> None:
    """A button that scans every layer of kw['site'] in one pass (each layer cached as its own scan, so picking
    another layer in the Layer box afterwards opens at once), and which layers are ready."""
    site = kw["site"]
    per_layer = {k: v for k, v in kw.items() if k not in ("site", "layer")}
    n_layers = CHOICES[site].n_layers(lm.adapter.n_layers)
    with shown_errors("Reading the scan cache"):
        ready = cached_layers(lm, tc, site=site, **per_layer)
        missing = n_layers - len(ready)
        if ready:
            st.caption(f"Scanned with these settings (pick any in the Layer box, no recomputing): "
                       f"{', '.join(map(str, ready))}.")
        if not missing:
            return
        via = f" on the Ray cluster {load_settings().ray_address}" if scan_options() else ""
        key = ScanAllKey(model_id(lm), corpus.sha256, "all", **kw, tokens=tc)
        kept = run_keyed(
            SCAN_ALL, lm, key, action=f"Scanning all {n_layers} layers in one pass{via}",
            button=f"Scan all {n_layers} layers in one pass ({missing} not yet scanned)",
            button_help="One pass over the corpus keeps every layer's top activations; each layer is then cached.",
            show_stale=False)
        if kept is not None and not kept.stale and len(cached_layers(lm, tc, site=site, **per_layer)) == n_layers:
            st.rerun()  # every layer is on disk now: the Layer box opens any of them from the cache
