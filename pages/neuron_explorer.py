"""Neuron explorer: what makes a neuron (or residual dimension) fire? Seed method and whole-layer scan."""
from __future__ import annotations

import streamlit as st

from interp_core.engine.sites import CHOICES, NEURON_SITES
from interp_core.neurons import seed_method, window_activations
from interp_core.plots.neurons import (STATS, context_heatmap_html, histogram_figure, layer_figure,
                                       top_tokens_figure, winners_figure)
from interp_core.neurons import cached_scan, scan_layer
from ui.cache import cached_tokens
from ui.corpus_picker import corpus_picker, corpus_src
from ui.downloads import figure_download, json_download, table_downloads
from ui.errors import shown_errors
from ui.state import publish, seed
from ui.frame import page_model, require_frame

require_frame()

st.title("🧠 Neuron explorer")
st.caption("What makes this neuron fire? The **seed method** samples random windows and records the token at "
           "each batch's argmax; the **layer scan** keeps every neuron's top activations in one pass over a corpus.")

lm = page_model()
info = lm.info

# --- inputs shared by both tabs (URL-synced) ---------------------------------------------------------
seed("ne_site", "mlp", choices=NEURON_SITES)
seed("ne_layer", 2, int)
seed("ne_dim", 345, int)
seed("ne_batch", 32, int)
seed("ne_seq", 256, int)
seed("ne_samples", 1000, int)
seed("ne_seed", 0, int)
seed("ne_topk", 20, int)
seed("ne_maxtok", 0, int)
seed("ne_stat", "max", choices=tuple(STATS))
seed("ne_neuron", 0, int)

with st.expander("Corpus", expanded=True):
    corpus = corpus_picker("ne_corpus")
src = corpus_src("ne_corpus")
if src:
    st.query_params["ne_corpus_src"] = src
if corpus is None:
    st.stop()

c = st.columns(4)
c[0].radio("Site", NEURON_SITES, key="ne_site", horizontal=True,
           help="\n\n".join(f"**{k}**: {CHOICES[k].help}" for k in NEURON_SITES))
site = st.session_state["ne_site"]
top_layer = CHOICES[site].top_layer(info.n_layers)
width = CHOICES[site].width(info)
c[1].number_input(f"Layer (0–{top_layer})", min_value=0, step=1, key="ne_layer")
c[2].number_input("Batch size B (windows)", min_value=1, step=1, key="ne_batch")
c[3].number_input("Window length T (tokens)", min_value=1, step=8, key="ne_seq")
publish("ne_site", "ne_layer", "ne_batch", "ne_seq")
layer, batch, seq_len = int(st.session_state["ne_layer"]), int(st.session_state["ne_batch"]), int(st.session_state["ne_seq"])

tc = None
with shown_errors("Tokenizing the corpus"):
    with st.spinner("Tokenizing the corpus…"):
        tc = cached_tokens(lm.spec, corpus.sha256, lm, corpus)
if tc is None:
    st.stop()
st.caption(f"Corpus **{corpus.name}** — {corpus.source} · {tc.n_tokens:,} tokens for this tokenizer · "
           f"windows get {' '.join(tc.prefix_tokens) or 'no special tokens'}"
           f"{' … ' + ' '.join(tc.suffix_tokens) if tc.suffix_tokens else ''} around the corpus tokens "
           "(special positions are never reported).")


def _heatmaps(items, scale=None):
    for it in items:
        st.markdown(f"**{it['activation']:.4g}** at token {it['index']:,}", help="corpus token index")
        st.html(context_heatmap_html(it["tokens"], it["acts"], it["pos"], scale))


seed_tab, scan_tab = st.tabs(["Seed method", "Layer scan"])

# --- seed method ---------------------------------------------------------------------------------------------
with seed_tab:
    c = st.columns(3)
    c[0].number_input(f"Dimension (0–{width - 1})", min_value=0, step=1, key="ne_dim")
    c[1].number_input("Samples N", min_value=1, step=100, key="ne_samples")
    c[2].number_input("Random seed", min_value=0, step=1, key="ne_seed")
    publish("ne_dim", "ne_samples", "ne_seed")
    dim, samples, rseed = int(st.session_state["ne_dim"]), int(st.session_state["ne_samples"]), int(st.session_state["ne_seed"])
    st.caption(f"{samples:,} samples × {batch} windows × {seq_len} tokens = {samples * batch * seq_len:,} tokens "
               "through the first layers (lower N, B or T for a quick look).")
    params = (lm.spec, corpus.sha256, site, layer, dim, batch, seq_len, samples, rseed)
    stored = st.session_state.get("ne_seed_result")
    if st.button("Run seed method", type="primary", key="ne_seed_run"):
        st.button("Cancel", key="ne_seed_cancel", help="Stops the run.")
        bar = st.progress(0.0, text="Starting…")
        with shown_errors("The seed method"):
            res = seed_method(lm, tc, site=site, layer=layer, dim=dim, batch_size=batch, seq_len=seq_len,
                              samples=samples, seed=rseed, progress=lambda f, m: bar.progress(min(f, 1.0), text=m))
            st.session_state["ne_seed_result"] = stored = (params, res)
        bar.empty()
    if stored is not None and stored[0] != params:
        st.info("The inputs changed since the last run; press **Run seed method** to update.")
    if stored is not None and stored[0] == params:
        res = stored[1]
        w = res.winners
        st.subheader(f"{site} layer {layer}, dim {dim}: {len(w)} distinct winning tokens in {samples:,} samples")
        left, right = st.columns([3, 2])
        fig = winners_figure(w, title=f"Winning tokens — {site} L{layer} dim {dim}")
        left.plotly_chart(fig, key="ne_seed_fig")
        with right:
            st.dataframe(w, hide_index=True, height=360)
            table_downloads(w, f"seed_winners_{site}{layer}_{dim}", "ne_seed_winners_dl")
            json_download(res.to_dict(), f"seed_{site}{layer}_{dim}", "ne_seed_json", "⬇ Full result (JSON)")
            figure_download(fig, f"seed_winners_{site}{layer}_{dim}", "ne_seed_fig_dl")
        st.subheader("Strongest samples")
        top = res.top(10)
        with shown_errors("Showing the contexts"):
            key = ("ne_seed_ctx", params)
            if st.session_state.get("ne_seed_ctx_key") != key:
                st.session_state["ne_seed_ctx"] = window_activations(lm, tc, top, site=site, layer=layer, dim=dim)
                st.session_state["ne_seed_ctx_key"] = key
            _heatmaps(st.session_state["ne_seed_ctx"], scale=float(top["activation"].abs().max() or 1.0))
        st.dataframe(res.samples, hide_index=True, height=300)
        table_downloads(res.samples, f"seed_samples_{site}{layer}_{dim}", "ne_seed_samples_dl")

# --- layer scan ------------------------------------------------------------------------------------------------
with scan_tab:
    c = st.columns(3)
    c[0].number_input("Top-k per neuron", min_value=1, max_value=1000, step=5, key="ne_topk")
    c[1].number_input("Token limit (0 = whole corpus)", min_value=0, step=1000, key="ne_maxtok")
    c[2].selectbox("Statistic", tuple(STATS), key="ne_stat", format_func=STATS.get)
    publish("ne_topk", "ne_maxtok", "ne_stat")
    top_k, max_tok, stat = int(st.session_state["ne_topk"]), int(st.session_state["ne_maxtok"]), st.session_state["ne_stat"]
    kw = dict(site=site, layer=layer, top_k=top_k, seq_len=seq_len, batch_size=batch, max_tokens=max_tok or None)
    skey = (lm.spec, corpus.sha256, tuple(sorted(kw.items())))
    stored = st.session_state.get("ne_scan_result")
    result = stored[1] if stored is not None and stored[0] == skey else None
    if result is None:
        with shown_errors("Reading the scan cache"):
            result = cached_scan(lm, tc, **kw)
            if result is not None:
                st.session_state["ne_scan_result"] = (skey, result)
    n_scan = min(tc.n_tokens, max_tok) if max_tok else tc.n_tokens
    if result is None:
        st.caption(f"Scans {n_scan:,} tokens in windows of {seq_len}, {batch} per pass; the result is cached on disk.")
        if st.button("Scan layer", type="primary", key="ne_scan_run"):
            st.button("Cancel", key="ne_scan_cancel", help="Stops the scan (nothing is cached).")
            bar = st.progress(0.0, text=f"0 / {n_scan:,} tokens")
            with shown_errors("The layer scan"):
                result = scan_layer(lm, tc, **kw, progress=lambda f, m: bar.progress(min(f, 1.0), text=m))
                st.session_state["ne_scan_result"] = (skey, result)
            bar.empty()
    if result is not None:
        p = result.provenance
        st.success(f"{result.n_neurons:,} neurons of {p['hook_site']} over {p['n_tokens_scanned']:,} tokens"
                   + (" (from the disk cache)" if result.cached else ""))
        # a click on the chart arrives in its widget state before the chart is drawn again: apply it first,
        # so the highlighted point and the number input agree; a later typed number wins until the next click
        event = st.session_state.get("ne_chart") or {}
        points = (event.get("selection") or {}).get("points") or []
        if points:
            clicked = int(round(points[0]["x"]))
            if st.session_state.get("ne_last_click") != (skey, clicked):
                st.session_state["ne_last_click"] = (skey, clicked)
                st.session_state["ne_neuron"] = clicked
        fig = layer_figure(result.stats, stat, selected=int(st.session_state["ne_neuron"]),
                           title=f"{STATS[stat]} per neuron — {p['hook_site']} (click a point)")
        st.plotly_chart(fig, on_select="rerun", selection_mode="points", key="ne_chart")
        c = st.columns([1, 3])
        c[0].number_input(f"Neuron (0–{result.n_neurons - 1})", min_value=0, step=1, key="ne_neuron")
        publish("ne_neuron")
        with c[1]:
            table_downloads(result.stats, f"scan_stats_{site}{layer}", "ne_scan_stats_dl")
            if st.session_state.get("ne_full_json_key") == skey:
                json_download(st.session_state["ne_full_json"], f"scan_{site}{layer}_all_neurons", "ne_full_json_dl",
                              "⬇ Every neuron with contexts (JSON)")
            elif st.button("Prepare every neuron's top activations as JSON", key="ne_full_json_btn"):
                with st.spinner("Building contexts for every neuron…"):
                    st.session_state["ne_full_json"] = result.to_dict(lm, tc)
                    st.session_state["ne_full_json_key"] = skey
                st.rerun()
        neuron = int(st.session_state["ne_neuron"])
        with shown_errors("Opening the neuron"):
            top = result.neuron_top(lm, tc, neuron)
            row = result.stats.iloc[neuron]
            st.subheader(f"Neuron {neuron}")
            st.caption(f"max {row['max']:.4g} · mean {row['mean']:.4g} · std {row['std']:.4g} · "
                       f"active on {row['frac_active']:.1%} of tokens ({p['active']})")
            left, right = st.columns(2)
            left.plotly_chart(top_tokens_figure(top, title=f"Tokens among neuron {neuron}'s top {len(top)}"),
                              key="ne_toptok_fig")
            right.plotly_chart(histogram_figure(result.sample[:, neuron], p["active_threshold"],
                                                title=f"Activations of neuron {neuron}"),
                               key="ne_hist_fig")
            right.caption(f"Histogram over a {p['histogram_sample']}.")
            st.markdown("**Top contexts** (shaded by this neuron's activation; hover a token for its value)")
            ckey = (skey, neuron)
            if st.session_state.get("ne_ctx_key") != ckey:
                st.session_state["ne_ctx"] = window_activations(lm, tc, top.head(10), site=site, layer=layer,
                                                                dim=neuron)
                st.session_state["ne_ctx_key"] = ckey
            _heatmaps(st.session_state["ne_ctx"], scale=float(abs(row["max"]) or 1.0))
            st.dataframe(top, hide_index=True)
            table_downloads(top, f"scan_{site}{layer}_neuron{neuron}", "ne_neuron_dl")
            json_download(result.to_dict(lm, tc, neurons=[neuron]), f"scan_{site}{layer}_neuron{neuron}_full",
                          "ne_neuron_json", "⬇ Neuron with provenance (JSON)")
