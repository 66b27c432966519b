"""Activation distributions: how do the hidden states change shape through the network?

Histograms (log counts, shared bins), value-vs-position/dimension scatter, covariance and R² between
layers, and a per-layer statistics table whose outlier dimensions link into the Neuron explorer.
"""
from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from ui.charts import chart
from ui.frame import page_model, require_frame

require_frame()

st.title("📊 Activation distributions")
st.caption("How do the hidden states change shape through the network?")

# the title and explanation are drawn before the heavy imports below (torch, plotly): a first paint at once
from interp_core.engine.sites import CHOICES, DIST_SITES, NEURON_SITES, layer_title  # noqa: E402
from interp_core.plots.distributions import histogram_figure, matrix_figure, scatter_figure, spread_figure  # noqa: E402
from ui.corpus_picker import corpus_picker, corpus_src  # noqa: E402
from ui.downloads import figure_download, table_downloads  # noqa: E402
from ui.errors import shown_errors  # noqa: E402
from ui.links import open_explorer_seed  # noqa: E402
from ui.runner import run_keyed  # noqa: E402
from ui.jobs.distributions import DIST, DIST_PROMPT, DIST_TOKENS, dist_key  # noqa: E402
from ui.state import as_bool, check_tab, publish, seed, url_notices  # noqa: E402
from ui.runner import wait_for_warmup  # noqa: E402

DEFAULT_PROMPT = DIST_PROMPT
SOURCES = {"corpus": "Corpus sample", "prompt": "Prompt"}
TOKENS_MIN, TOKENS_MAX = 16, 20_000
BINS_MIN, BINS_MAX = 10, 300
AD_TABS = ("Histograms", "Scatter", "Between layers", "Statistics")

lm = page_model()

seed("ad_source", "corpus", choices=tuple(SOURCES))
seed("ad_prompt", DEFAULT_PROMPT)
seed("ad_tokens", DIST_TOKENS, int, lo=TOKENS_MIN, hi=TOKENS_MAX)
seed("ad_site", "resid", choices=DIST_SITES)
seed("ad_first", True, as_bool)
seed("ad_bins", 80, int, lo=BINS_MIN, hi=BINS_MAX)
seed("ad_hist", "grid", choices=("grid", "overlay"))
seed("ad_hbins", "own", choices=("shared", "own"))  # per-layer ranges by default; shared is a choice
seed("ad_x", "position", choices=("position", "dim"))
check_tab("ad_tab", AD_TABS)
url_notices()  # numbers from a link were clamped into the widgets' ranges

left, right = st.columns([3, 2])
corpus = None
with left:
    source = st.radio("Measure", tuple(SOURCES), format_func=SOURCES.get, key="ad_source", horizontal=True)
    if source == "prompt":
        st.text_area("Prompt", key="ad_prompt", height=100)
    else:
        corpus = corpus_picker("ad_corpus")
        st.number_input("Token budget", TOKENS_MIN, TOKENS_MAX, step=500, key="ad_tokens",
                        help="Tokens run through the model, in windows of up to 256 spread over the text.")
with right:
    st.selectbox("Activations", DIST_SITES, format_func=lambda k: CHOICES[k].label, key="ad_site",
                 help="; ".join(f"{CHOICES[k].label}: {CHOICES[k].help}" for k in DIST_SITES))
    st.toggle("Exclude first token", key="ad_first")
    st.caption("The first token of every sequence (BOS / [CLS]) is an outlier in most models because nothing "
               "precedes it, so its huge values would swamp the histograms; switch this off to see it.")
    st.slider("Histogram bins", BINS_MIN, BINS_MAX, key="ad_bins",
              help="Equal-width bins over the data's range. Changing them, or the first-token choice, redraws from "
                   "the kept measurement at once: the model does not run again.")

publish("ad_source", "ad_site", "ad_first", "ad_bins", "ad_hist", "ad_hbins", "ad_x",
        *(("ad_prompt",) if source == "prompt" else ("ad_tokens",)))
if source == "corpus":
    src = corpus_src("ad_corpus")
    if src:
        st.query_params["ad_corpus_src"] = src
    else:
        st.query_params.pop("ad_corpus_src", None)
else:
    st.query_params.pop("ad_corpus_src", None)

if source == "corpus" and corpus is None:
    st.stop()

site, exclude_first, bins = st.session_state["ad_site"], bool(st.session_state["ad_first"]), int(st.session_state["ad_bins"])
inp = dist_key(lm, source, st.session_state["ad_prompt"], corpus, int(st.session_state["ad_tokens"]), site)
wait_for_warmup(lm, DIST, inp)
kept = None
with shown_errors("Measuring the activations"):
    kept = run_keyed(DIST, lm, inp, action="Measuring the activations", button="Measure", auto=True)
if kept is None:
    st.stop()
result = None
with shown_errors("Drawing the distributions"):  # a view of the kept summaries: no forward pass
    result = kept.result.view(exclude_first=exclude_first, bins=bins)
if result is None:
    st.stop()

st.caption(f"{result.sample} · {CHOICES[result.site].label}: {CHOICES[result.site].help}")
m = st.columns(4)
m[0].metric("Sequences", f"{result.n_sequences:,}")
m[1].metric("Tokens measured", f"{result.n_tokens:,}")
m[2].metric("Values per layer", f"{result.n_tokens * result.width:,}")
m[3].metric("Layers", f"{len(result.layers)}")
name = f"dist_{lm.spec.name.replace('/', '_')}_{result.site}"

# only the open tab is drawn (its name travels in the URL): all four at once kept a new tab's browser
# busy drawing five charts, the 650 KB scatter among them, before the first one showed
tab_h, tab_s, tab_x, tab_t = st.tabs(AD_TABS, key="ad_tab", bind="query-params")
with tab_h:
    if tab_h.open is not False:
        c1, c2 = st.columns(2)
        c1.radio("Layout", ("grid", "overlay"), key="ad_hist", horizontal=True,
                 format_func={"grid": "Small multiples", "overlay": "Overlaid"}.get)
        overlay = st.session_state["ad_hist"] == "overlay"
        c2.radio("Bins", ("shared", "own"), key="ad_hbins", horizontal=True, disabled=overlay,
                 format_func={"shared": "Shared by all layers", "own": "Each layer's own range"}.get,
                 help="Overlaid histograms always share bins. A layer's own bins zoom into it when other layers "
                      "have much larger values.")
        shared = overlay or st.session_state["ad_hbins"] == "shared"
        fig = histogram_figure(result, st.session_state["ad_hist"], shared=shared)
        chart(fig, key="ad_hist_chart")
        if len(result.edges) > 1:
            st.caption("Counts on a log scale so the side lobes of rare extreme activations show. "
                       + (f"{len(result.edges) - 1} equal bins of width {float(result.edges[1] - result.edges[0]):.4g}, "
                          "the same for every layer." if shared else "Each layer has its own equal-width bins."))
        figure_download(fig, f"{name}_hist", key="ad_hist_fig")
        table_downloads(result.hist_frame(shared), f"{name}_hist", key="ad_hist_tab")
with tab_s:
    if tab_s.open is not False:
        st.radio("Horizontal axis", ("position", "dim"), key="ad_x", horizontal=True,
                 format_func={"position": "Token position", "dim": "Dimension"}.get)
        fig = scatter_figure(result, st.session_state["ad_x"])
        chart(fig, key="ad_scatter_chart")
        st.caption("A fixed random subsample of (token, dimension) entries — the same entries in every layer.")
        figure_download(fig, f"{name}_scatter", key="ad_scatter_fig")
        table_downloads(result.scatter, f"{name}_scatter", key="ad_scatter_tab")
with tab_x:
    if tab_x.open is not False:
        st.caption("R² is the squared correlation of two layers' activations over all tokens and dimensions: "
                   "how much of one layer a linear rescaling of the other explains.")
        for which in ("r2", "cov"):
            fig = matrix_figure(result, which)
            chart(fig, key=f"ad_{which}_chart")
            c1, c2 = st.columns([1, 2])
            with c1:
                figure_download(fig, f"{name}_{which}", key=f"ad_{which}_fig")
            with c2:
                table_downloads(result.matrix_frame(which), f"{name}_{which}", key=f"ad_{which}_tab")
with tab_t:
    if tab_t.open is not False:
        fig = spread_figure(result)
        chart(fig, key="ad_spread_chart")
        figure_download(fig, f"{name}_spread", key="ad_spread_fig")
        table = result.stats.copy()
        table["outlier_dims"] = table["outlier_dims"].map(lambda ds: ", ".join(str(d) for d in ds))
        table = table.drop(columns=["outlier_abs_max"])
        st.dataframe(table, hide_index=True, key="ad_stats_table",
                     column_config={"n": st.column_config.NumberColumn("tokens", format="%d"),
                                    "kurtosis": st.column_config.NumberColumn("excess kurtosis", format="%.4g"),
                                    "outlier_dims": st.column_config.TextColumn("outlier dims (largest |value|)")})
        table_downloads(table, f"{name}_stats", key="ad_stats_tab")
        st.subheader("Outlier dimensions")
        out = result.outliers.copy()
        ne_site = result.site if result.site in NEURON_SITES else None
        if ne_site is None:
            st.caption("The Neuron explorer opens hidden-state dimensions and MLP neurons; switch the activations to "
                       "one of those to get links.")
            st.dataframe(out, hide_index=True, key="ad_outlier_table")
        else:
            model_q = lm.spec.name
            out["open"] = [f"neuron_explorer?{urlencode({'model': model_q, 'ne_site': ne_site, 'ne_layer': int(l), 'ne_dim': int(d), 'ne_neuron': int(d), 'ne_tab': 'Seed method'})}"
                           for l, d in zip(out["layer"], out["dim"])]
            st.caption("Dimensions with the largest |activation| in each layer; click one to open it in the Neuron explorer.")
            st.dataframe(out, hide_index=True, key="ad_outlier_table",
                         column_config={"open": st.column_config.LinkColumn("Neuron explorer", display_text=r"ne_dim=(\d+)"),
                                        "abs_max": st.column_config.NumberColumn("max |value|", format="%.4g")})
            labels = dict(zip(result.layers, result.labels))
            pick = st.selectbox("Open an outlier dimension of layer", result.layers, key="ad_open_layer",
                                format_func=lambda l: layer_title(labels[l]))
            cols = st.columns(len(out[out["layer"] == pick]) or 1)
            for col, row in zip(cols, out[out["layer"] == pick].itertuples()):
                if col.button(f"dim {row.dim}", icon="🧠", key=f"ad_open_{row.layer}_{row.dim}",
                              help=f"max |value| {row.abs_max:.4g} — open in the Neuron explorer's seed method"):
                    open_explorer_seed({"ne_site": ne_site, "ne_layer": int(row.layer), "ne_dim": int(row.dim),
                                        "ne_neuron": int(row.dim)})
        table_downloads(result.outliers, f"{name}_outliers", key="ad_outlier_tab")
