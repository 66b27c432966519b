"""Neuron explorer: what makes a neuron (or residual dimension) fire? Seed method and whole-layer scan."""
from __future__ import annotations

import streamlit as st

from ui.charts import chart
from ui.frame import page_model, require_frame

require_frame()

st.title("🧠 Neuron explorer")
st.caption("What makes this neuron fire? The **seed method** samples random windows and records the token at "
           "each batch's argmax; the **layer scan** keeps every neuron's top activations in one pass over a corpus.")

# the title and explanation are drawn before the heavy imports below (torch, plotly): a first paint at once
from interp_core.engine.sites import CHOICES, NEURON_SITES  # noqa: E402
from interp_core.neurons import window_activations  # noqa: E402
from interp_core.plots.clickable import clicked_value  # noqa: E402
from interp_core.plots.neurons import (STATS, context_heatmap_html, histogram_figure, layer_figure,  # noqa: E402
                                       top_tokens_figure, winners_figure)
from interp_core.neurons import cached_scan  # noqa: E402
from ui.cache import cached_tokens  # noqa: E402
from ui.corpus_picker import corpus_picker, corpus_src  # noqa: E402
from ui.downloads import figure_download, json_download, table_downloads  # noqa: E402
from ui.errors import shown_errors  # noqa: E402
from interp_core.estimates import seed_flops  # noqa: E402
from ui.costs import estimate_s, fmt_seconds  # noqa: E402
from ui.jobs.base import Cost, model_id  # noqa: E402
from ui.jobs.neurons import CONTEXTS, ContextsKey  # noqa: E402
from ui.jobs.scan import SCAN, SEED, ScanKey, SeedKey, scan_defaults  # noqa: E402
from ui.runner import run_keyed  # noqa: E402
from ui.sections.neuron_links import render_neuron_links  # noqa: E402
from ui.state import check_tab, publish, seed, url_notices  # noqa: E402
from ui.runner import wait_for_scan  # noqa: E402
from ui.sections.neuron_prompt import apply_pending, render_prompt_tab  # noqa: E402
from ui.sections.neuron_writes import render_neuron_writes  # noqa: E402
from ui.sections.scan_all_layers import render_scan_all_layers  # noqa: E402
from ui.sections.features import (apply_trained_pick, render_feature_ablation, render_feature_steer,  # noqa: E402
                                  render_prompt_features, render_sae_picker)

NE_TABS = ("Seed method", "Layer scan", "On your own prompt")

lm = page_model()
info = lm.info

# --- inputs shared by both tabs (URL-synced) ---------------------------------------------------------
SD = scan_defaults(lm)  # the default scan is computed in the background once the model is ready
SITES = (*NEURON_SITES, "sae")  # sae: the latents of a sparse autoencoder, explored like neurons
seed("ne_site", SD["site"], choices=SITES)
if st.session_state["ne_site"] == "sae":  # an SAE's layer and width are known once it is picked (clamped then)
    _top, _width = info.n_layers, 1 << 24
else:
    _top, _width = CHOICES[st.session_state["ne_site"]].top_layer(info.n_layers), CHOICES[st.session_state["ne_site"]].width(info)
seed("ne_layer", SD["layer"], int, lo=0, hi=_top)
seed("ne_dim", min(345, _width - 1), int, lo=0, hi=_width - 1)
seed("ne_batch", SD["batch_size"], int, lo=1, hi=1024)
seed("ne_seq", SD["seq_len"], int, lo=1, hi=8192)
seed("ne_samples", 8, int, lo=1, hi=100_000)
seed("ne_seed", 0, int, lo=0, hi=2**31 - 1)
seed("ne_topk", SD["top_k"], int, lo=1, hi=1000)
seed("ne_maxtok", SD["max_tokens"], int, lo=0, hi=100_000_000)
seed("ne_stat", "max", choices=tuple(STATS))
seed("ne_neuron", -1, int, lo=-1, hi=_width - 1)  # -1: the scan's strongest neuron
seed("ne_pdim", 345, int)
apply_pending("ne_neuron", "ne_dim")  # a neuron clicked on the prompt tab opens in the other tabs too

with st.expander("Corpus", expanded=True):
    corpus = corpus_picker("ne_corpus")
src = corpus_src("ne_corpus")
if src:
    st.query_params["ne_corpus_src"] = src
if corpus is None:
    st.stop()

c = st.columns(4)
c[0].radio("Site", SITES, key="ne_site", horizontal=True,
           help="\n\n".join([*(f"**{k}**: {CHOICES[k].help}" for k in NEURON_SITES),
                              "**sae**: the features (latents) of a sparse autoencoder, at the layer it reads"]))
site = st.session_state["ne_site"]
features = site == "sae"
if not features:
    top_layer = CHOICES[site].top_layer(info.n_layers)
    width = CHOICES[site].width(info)
    st.session_state["ne_layer"] = min(int(st.session_state["ne_layer"]), top_layer)  # the site may have changed
    c[1].number_input(f"Layer (0–{top_layer})", min_value=0, max_value=top_layer, step=1, key="ne_layer")
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
sae_id = None
if features:  # pick (or train) an SAE; its site name, layer and width stand in for the neuron site's below
    apply_trained_pick()
    picked = render_sae_picker(lm, tc, corpus.sha256, info.n_layers, seq_len)
    if picked is None:
        st.stop()
    site, layer, width = picked
    sae_id = site[len("sae:"):]
    st.caption(f"Features of **{sae_id}**: {width:,} latents, read at layer {layer} of the site it was trained on.")
    for k in ("ne_dim", "ne_pdim"):  # the boxes were seeded before the SAE's width was known
        st.session_state[k] = min(max(int(st.session_state[k]), 0), width - 1)
UNIT = "Feature" if features else "Neuron"


def _heatmaps(items, scale=None):
    for it in items:
        st.markdown(f"**{it['activation']:.4g}** at token {it['index']:,}", help="corpus token index")
        st.html(context_heatmap_html(it["tokens"], it["acts"], it["pos"], scale))


check_tab("ne_tab", NE_TABS, "Layer scan")
url_notices()
seed_tab, scan_tab, prompt_tab = st.tabs(NE_TABS, default="Layer scan",
                                         key="ne_tab", bind="query-params")

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
    paper = Cost(model_id(lm), "seed", seed_flops(info, 1000, 32, 256, block=layer))
    st.button(f"Seed paper's protocol: 1,000 × 32 × 256 ({fmt_seconds(estimate_s(paper))})",
              key="ne_paper", on_click=lambda: st.session_state.update(ne_samples=1000, ne_batch=32, ne_seq=256),
              help="Sets N, B and T to the paper's values; the run then waits for a click with its estimate.")
    kept = None
    seed_in = SeedKey(model_id(lm), *params[1:], tokens=tc)
    with shown_errors("The seed method"):
        kept = run_keyed(SEED, lm, seed_in, action="Running the seed method", button="Run seed method",
                         auto=seed_tab.open is True)
    stored = (params, kept.result) if kept is not None and not kept.stale else None
    if stored is not None and stored[0] == params:
        res = stored[1]
        w = res.winners
        st.subheader(f"{site} layer {layer}, dim {dim}: {len(w)} distinct winning tokens in {samples:,} samples")
        left, right = st.columns([3, 2])
        fig = winners_figure(w, title=f"Winning tokens — {site} L{layer} dim {dim}")
        chart(fig, key="ne_seed_fig", where=left)
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
    if scan_tab.open is not False:  # only the open tab is drawn
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
        if result is None and kw == SD and src == "builtin:looking-glass":
            wait_for_scan(lm)  # the background warm-up is scanning exactly this; then it is on disk
            with shown_errors("Reading the scan cache"):
                result = cached_scan(lm, tc, **kw)
        if result is None:
            st.caption(f"Scans {n_scan:,} tokens in windows of {seq_len}, {batch} per pass; the result is cached on disk.")
            scan_in = ScanKey(model_id(lm), corpus.sha256, **kw, tokens=tc)
            with shown_errors("The layer scan"):
                kept = run_keyed(SCAN, lm, scan_in, action="Scanning the layer", button="Scan layer",
                                 auto=scan_tab.open is not False, show_stale=False)
                result = kept.result if kept is not None else None
        if not features:  # an SAE reads one layer
            render_scan_all_layers(lm, tc, corpus, kw)
        if result is not None:
            st.session_state["ne_scan_result"] = (skey, result)
        if result is not None:
            p = result.provenance
            st.success(f"{result.n_neurons:,} {UNIT.lower()}s of {p['hook_site']} over {p['n_tokens_scanned']:,} tokens"
                       + (" (from the disk cache)" if result.cached else ""))
            # a click on the chart arrives in its widget state before the chart is drawn again: apply it first,
            # so the highlighted point and the number input agree; a later typed number wins until the next click
            if int(st.session_state["ne_neuron"]) < 0 or int(st.session_state["ne_neuron"]) >= result.n_neurons:
                st.session_state["ne_neuron"] = int(result.stats[stat].to_numpy().argmax())  # open on the strongest
            x = clicked_value(st.session_state.get("ne_chart"))
            if x is not None:
                clicked = int(round(x))
                if st.session_state.get("ne_last_click") != (skey, clicked):
                    st.session_state["ne_last_click"] = (skey, clicked)
                    st.session_state["ne_neuron"] = clicked
            fig = layer_figure(result.stats, stat, selected=int(st.session_state["ne_neuron"]),
                               title=f"{STATS[stat]} per neuron — {p['hook_site']} (click a point)")
            chart(fig, on_select="rerun", selection_mode="points", key="ne_chart")
            c = st.columns([1, 3])
            c[0].number_input(f"{UNIT} (0–{result.n_neurons - 1})", min_value=0, step=1, key="ne_neuron")
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
                st.subheader(f"{UNIT} {neuron}")
                st.caption(f"max {row['max']:.4g} · mean {row['mean']:.4g} · std {row['std']:.4g} · "
                           f"active on {row['frac_active']:.1%} of tokens ({p['active']})")
                left, right = st.columns(2)
                chart(top_tokens_figure(top, title=f"Tokens among neuron {neuron}'s top {len(top)}"),
                                  key="ne_toptok_fig", where=left)
                chart(histogram_figure(result.sample[:, neuron], p["active_threshold"],
                                                    title=f"Activations of neuron {neuron}"),
                                   key="ne_hist_fig", where=right)
                right.caption(f"Histogram over a {p['histogram_sample']}.")
                ctx_col, writes_col = st.columns([3, 2])
                with ctx_col:
                    st.markdown("**Top contexts** (shaded by this neuron's activation; hover a token for its value)")
                    ctx_key = ContextsKey(model_id(lm), skey, neuron, site=site, layer=layer, top=top, tokens=tc)
                    ctx = run_keyed(CONTEXTS, lm, ctx_key, action="Reading the top contexts", auto=True,
                                    show_stale=False)
                    if ctx is not None and not ctx.stale:
                        render_neuron_links(lm, tc, site, layer, neuron, ctx.result)
                        if sae_id is not None:
                            render_feature_ablation(lm, tc, sae_id, neuron, ctx.result)
                            render_feature_steer(lm, tc, sae_id, neuron, ctx.result)
                        _heatmaps(ctx.result, scale=float(abs(row["max"]) or 1.0))
                with writes_col:
                    st.markdown("**What it writes** (direct path to the logits)")
                    render_neuron_writes(lm, site, layer, neuron, key="ne_scan")
                st.dataframe(top, hide_index=True)
                table_downloads(top, f"scan_{site}{layer}_neuron{neuron}", "ne_neuron_dl")
                json_download(result.to_dict(lm, tc, neurons=[neuron]), f"scan_{site}{layer}_neuron{neuron}_full",
                              "ne_neuron_json", "⬇ Neuron with provenance (JSON)")

# --- a neuron on your own prompt -------------------------------------------------------------------------------
with prompt_tab:
    if prompt_tab.open is not False:  # only the open tab is drawn
        with shown_errors("Running your prompt"):
            pdim = render_prompt_tab(lm, site, layer, width,
                                     default_prompt="The Eiffel Tower is located in the city of Paris.")
            st.subheader(f"What {site} L{layer} #{pdim} writes")
            render_neuron_writes(lm, site, layer, pdim, key="ne_prompt")
            if sae_id is not None:
                render_prompt_features(lm, sae_id, st.session_state.get("ne_prompt_text") or "")
        publish("ne_pdim")
