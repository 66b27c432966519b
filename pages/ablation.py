"""Ablation playground: does this component matter, and what does the network do without it?

Pick a site (hidden state, attention output, heads, MLP output, neurons, embeddings), a method (zero,
mean, median, noise, scale, patch) and positions; compare clean vs ablated predictions and generations,
sweep layers / heads / scale, and measure self-repair. Every intervention is a temporary hook.
"""
import streamlit as st

from ui.charts import chart
from ui.frame import page_model, require_frame

require_frame()

st.title("✂️ Ablation playground")
st.caption("Does this component matter, and what does the network do without it? Each intervention is a hook "
           "that exists for one forward pass; the model's weights are never changed.")

# the title and explanation are drawn before the heavy imports below (torch, plotly): a first paint at once
from interp_core.ablation import (  # noqa: E402
    COMPONENTS,  # noqa: E402
    METHODS,
    NEEDS_REFERENCE,
)
from interp_core.data import Corpus  # noqa: E402
from interp_core.engine.sites import ABLATION_SITES, CHOICES  # noqa: E402
from interp_core.plots.ablation import METRICS  # noqa: E402
from ui.corpus_picker import corpus_picker, corpus_src  # noqa: E402
from ui.downloads import figure_download, json_download, table_downloads  # noqa: E402
from ui.errors import shown_errors  # noqa: E402
from ui.jobs.ablation import COMPARE, SWEEP, compare_key, sweep_key, widget_defaults  # noqa: E402
from ui.links import (  # noqa: E402
    COMPARE_TAB,  # noqa: E402
    MODES,
    STEER_MODE,
)
from ui.runner import (
    run_keyed,  # noqa: E402
    wait_for_warmup,  # noqa: E402
)
from ui.sections.ablation_view import render_comparison, render_sweep_head, render_sweep_pick, sweep_figure  # noqa: E402
from ui.sections.attention import render_attention  # noqa: E402
from ui.sections.patching import render_patching  # noqa: E402
from ui.sections.steer import render_steer  # noqa: E402
from ui.state import as_bool, check_tab, publish, seed, url_notices  # noqa: E402

AB_TABS = (COMPARE_TAB, "Sweeps", "Attention patterns", "Which components matter?")

lm = page_model(no_lm_head="{name} has no LM head, so there are no "
                "predictions to compare; pick a model with one (e.g. gemma-3-270m).")
info = lm.info

seed("ab_mode", MODES[0], choices=MODES)
if st.radio("Mode", MODES, key="ab_mode", horizontal=True,
            help="Ablate or patch: remove or replace what a component writes. Steer: add a direction to it.") \
        == STEER_MODE:
    publish("ab_mode")
    render_steer(lm)
    st.stop()
st.query_params.pop("ab_mode", None)

masked = info.masked_lm
mask = getattr(lm.tokenizer, "mask_token", None) or "[MASK]"
D = widget_defaults(lm)
SITES, METHOD_NAMES, POS = list(ABLATION_SITES), list(METHODS), ["all", "last", "chosen"]

# --- inputs (URL-shareable) -------------------------------------------------------------------
seed("ab_prompt", D["ab_prompt"])
seed("ab_target", D["ab_target"])
seed("ab_site", D["ab_site"], choices=SITES)
seed("ab_layer", D["ab_layer"], int, lo=0, hi=CHOICES[st.session_state["ab_site"]].top_layer(info.n_layers))
seed("ab_heads", D["ab_heads"])
seed("ab_index", D["ab_index"])
seed("ab_method", D["ab_method"], choices=METHOD_NAMES)
seed("ab_scale", D["ab_scale"], float, lo=-100.0, hi=100.0)
seed("ab_noise", D["ab_noise"], float, lo=0.0, hi=100.0)
seed("ab_pos", D["ab_pos"], choices=POS)
seed("ab_pos_list", D["ab_pos_list"])
seed("ab_cf", D["ab_cf"])
seed("ab_ref_self", D["ab_ref_self"], as_bool)
seed("ab_budget", D["ab_budget"], int, lo=50, hi=50_000)
seed("ab_gen", D["ab_gen"], int, lo=0, hi=64)
seed("ab_topk", D["ab_topk"], int, lo=1, hi=50)
seed("ab_repair", D["ab_repair"], as_bool)
check_tab("ab_tab", AB_TABS)
url_notices()

st.text_area("Prompt" + (f" (put {mask} where BERT should predict)" if masked else ""), key="ab_prompt", height=80)
st.text_input("Target token (include its leading space, e.g. ' Paris'; empty = none)", key="ab_target")

c1, c2, c3 = st.columns(3)
site = c1.selectbox("Site", SITES, key="ab_site", format_func=lambda s: f"{s} — {CHOICES[s].help}")
top_layer = CHOICES[site].top_layer(info.n_layers)
if top_layer is not None:
    st.session_state["ab_layer"] = min(max(int(st.session_state["ab_layer"]), 0), top_layer)
    c2.number_input(f"Layer (0..{top_layer})", 0, top_layer, step=1, key="ab_layer")
method = c3.selectbox("Method", METHOD_NAMES, key="ab_method", format_func=lambda m: f"{m} — {METHODS[m]}")

d1, d2, d3 = st.columns(3)
if site == "head":
    d1.text_input(f"Heads (comma list of 0..{info.n_heads - 1}; empty = all)", key="ab_heads")
if site == "neuron":
    d1.text_input(f"Neurons (comma list of 0..{info.d_mlp - 1})", key="ab_index")
if method == "scale":
    d2.number_input("Scale factor", step=0.25, key="ab_scale")
if method == "noise":
    d2.number_input("Noise σ (× the site's std over the reference)", min_value=0.0, step=0.5, key="ab_noise")
pos_mode = d3.radio("Positions", POS, key="ab_pos", horizontal=True,
                    help="all = every position; last = the last prompt position; chosen = prompt indices "
                         "(negative counts from the end).")
if pos_mode == "chosen":
    d3.text_input("Prompt positions", key="ab_pos_list")

reference = None
if method in NEEDS_REFERENCE:
    with st.expander("Reference corpus (for mean, median and noise σ)", expanded=True):
        use_prompt = st.checkbox("Use the prompt itself as the reference", key="ab_ref_self")
        st.number_input("Token budget", min_value=50, max_value=50_000, step=500, key="ab_budget",
                        help="Statistics are computed per dimension over this many tokens and cached on disk.")
        if use_prompt:
            reference = Corpus.from_text(st.session_state["ab_prompt"] or " ", "the prompt", "prompt")
        else:
            reference = corpus_picker("ab_ref", "Reference corpus")
            if corpus_src("ab_ref"):
                st.query_params["ab_ref_src"] = corpus_src("ab_ref")
counterfactual = None
if method == "patch":
    counterfactual = st.text_input("Counterfactual prompt (same site's activation is copied in, aligned from the end)",
                                   key="ab_cf")

publish("ab_prompt", "ab_target", "ab_site", "ab_layer", "ab_method", "ab_pos", "ab_ref_self")
publish(*[k for k, on in (("ab_heads", site == "head"), ("ab_index", site == "neuron"), ("ab_scale", method == "scale"),
                          ("ab_noise", method == "noise"), ("ab_pos_list", pos_mode == "chosen"),
                          ("ab_cf", method == "patch"), ("ab_budget", method in NEEDS_REFERENCE)) if on])


ref_sha = reference.sha256 if reference is not None else None
tab_cmp, tab_sweep, tab_attn, tab_patch = st.tabs(AB_TABS, key="ab_tab", bind="query-params")

# --- single ablation ------------------------------------------------------------------------------
with tab_cmp:
    e1, e2, e3 = st.columns(3)
    e1.number_input("Greedy tokens to generate", 0, 64, step=1, key="ab_gen", disabled=masked,
                    help="Decoders only; BERT is compared at its [MASK] positions.")
    e2.number_input("Top-k", 1, 50, step=1, key="ab_topk")
    e3.checkbox("Self-repair (direct vs total effect)", key="ab_repair", disabled=masked or site not in COMPONENTS,
                help="For attn_out, head, mlp_out or neuron in a pre-LN decoder.")
    publish("ab_gen", "ab_topk", "ab_repair")
    inp = compare_key(lm, st.session_state, ref_sha, reference)
    if tab_cmp.open is not False:
        wait_for_warmup(lm, COMPARE, inp)
    kept = None
    with shown_errors("Running the ablation"):
        kept = run_keyed(COMPARE, lm, inp, action="Running the ablation", button="Run ablation",
                         auto=tab_cmp.open is not False)
    if kept is not None:
        render_comparison(lm, kept.result, "ab")

# --- sweeps ------------------------------------------------------------------------------------------
with tab_sweep:
    seed("ab_sweep", D["ab_sweep"], choices=("layers", "heads", "scale"))
    seed("ab_metric", D["ab_metric"], choices=list(METRICS))
    seed("ab_scales", D["ab_scales"])
    s1, s2 = st.columns(2)
    kind = s1.radio("Sweep", ("layers", "heads", "scale"), key="ab_sweep", horizontal=True,
                    format_func={"layers": "every layer", "heads": "every head (layers × heads)",
                                 "scale": "scale factor"}.get)
    metric = s2.selectbox("Effect shown", list(METRICS), key="ab_metric", format_func=METRICS.get)
    if kind == "scale":
        st.text_input("Scale values", key="ab_scales")
    st.caption({"layers": "The current site and method, applied at each layer in turn (one forward pass per layer).",
                "heads": "The current method applied to one attention head at a time, for every head of every layer.",
                "scale": "The current site multiplied by each factor: 0 removes it, 1 is the clean run, >1 amplifies it."
                }[kind])
    publish("ab_sweep", "ab_metric", *(["ab_scales"] if kind == "scale" else []))
    sinp = sweep_key(lm, st.session_state, ref_sha, reference)
    kept = None
    with shown_errors("Running the sweep"):
        kept = run_keyed(SWEEP, lm, sinp, action="Running the sweep", button="Run sweep", auto=tab_sweep.open is True)
    if kept is not None:
        sw = kept.result
        frame = sw.frame()
        st.caption(f"{sw.kind} sweep · {sw.label()} · predicting after position {sw.position} "
                   f"· hooks left on the model: {lm.num_hooks()}")
        if sw.target and sw.clean.target_prob is not None:
            st.text(f"Clean p({sw.target!r}) = {sw.clean.target_prob:.4f}")
        elif metric != "kl":
            st.info("No target token: showing the KL divergence.")
        fig = sweep_figure(sw, metric)
        chart(fig, key="ab_sweep_fig", on_select="rerun", selection_mode="points")
        figure_download(fig, f"ablation_sweep_{sw.kind}", "ab_sweep_fig_dl")
        if sw.kind == "layers" and sw.target and sw.clean.target_prob is not None:
            worst = frame.nsmallest(3, "target_prob_delta")
            st.text("Layers that matter most for " + repr(sw.target) + ": " + ", ".join(
                f"layer {int(r.layer)} (Δp {r.target_prob_delta:+.3f})" for r in worst.itertuples()))
        st.dataframe(frame, hide_index=True)
        table_downloads(frame, f"ablation_sweep_{sw.kind}", "ab_sweep_tbl")
        json_download(sw.to_dict(), f"ablation_sweep_{sw.kind}", "ab_sweep_json", "⬇ Full sweep (JSON)")
        render_sweep_pick(lm, sw, reference, ref_sha)
        if sw.kind == "heads":
            with shown_errors("Drawing the attention pattern"):
                render_sweep_head(lm, st.session_state["ab_prompt"], sw, key="ab")

# --- attention patterns -------------------------------------------------------------------------------------
with tab_attn:
    if tab_attn.open is not False:
        with shown_errors("Capturing attention patterns"):
            render_attention(lm, st.session_state["ab_prompt"], key="ab")

# --- which components matter? (activation patching) ---------------------------------------------------------
with tab_patch:
    if tab_patch.open is not False:
        render_patching(lm)
