"""Ablation playground: does this component matter, and what does the network do without it?

Pick a site (hidden state, attention output, heads, MLP output, neurons, embeddings), a method (zero,
mean, median, noise, scale, patch) and positions; compare clean vs ablated predictions and generations,
sweep layers / heads / scale, and measure self-repair. Every intervention is a temporary hook.
"""
import pandas as pd
import streamlit as st

from interp_core import UserError
from interp_core.ablation import COMPONENTS, DEFAULT_SCALES, run_ablation, sweep
from interp_core.data import Corpus
from interp_core.ablation import METHODS, NEEDS_REFERENCE, Ablation, parse_ints, parse_positions
from interp_core.engine.sites import ABLATION_SITES, CHOICES
from interp_core.plots.ablation import (METRICS, head_sweep_figure, layer_sweep_figure, scale_sweep_figure,
                                        self_repair_figure, topk_figure)
from ui.corpus_picker import corpus_picker, corpus_src
from ui.downloads import figure_download, json_download, table_downloads
from ui.errors import shown_errors
from ui.state import as_bool, publish, seed
from ui.frame import page_model, require_frame

require_frame()

st.title("✂️ Ablation playground")
st.caption("Does this component matter, and what does the network do without it? Each intervention is a hook "
           "that exists for one forward pass; the model's weights are never changed.")
lm = page_model(no_lm_head="{name} has no LM head, so there are no "
                "predictions to compare; pick a model with one (e.g. gemma-3-270m).")
info = lm.info

masked = info.masked_lm
mask = getattr(lm.tokenizer, "mask_token", None) or "[MASK]"
default_prompt = (f"The Eiffel Tower is located in the city of {mask}." if masked
                  else "The Eiffel Tower is located in the city of")
SITES, METHOD_NAMES, POS = list(ABLATION_SITES), list(METHODS), ["all", "last", "chosen"]

# --- inputs (URL-shareable) -------------------------------------------------------------------
seed("ab_prompt", default_prompt)
seed("ab_target", " Paris" if not masked else "paris")
seed("ab_site", "mlp_out", choices=SITES)
seed("ab_layer", 0, int)
seed("ab_heads", "")
seed("ab_index", "0")
seed("ab_method", "zero", choices=METHOD_NAMES)
seed("ab_scale", 0.0, float)
seed("ab_noise", 1.0, float)
seed("ab_pos", "all", choices=POS)
seed("ab_pos_list", "-1")
seed("ab_cf", "The Colosseum is located in the city of" + (f" {mask}." if masked else ""))
seed("ab_ref_self", False, as_bool)
seed("ab_budget", 2000, int)

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


def build_ablation() -> Ablation:
    """The Ablation the widgets describe (UserError on unparsable lists)."""
    heads = st.session_state["ab_heads"]
    return Ablation(
        site=site, layer=None if site == "embed" else int(st.session_state["ab_layer"]), method=method,
        heads=parse_ints(heads, "heads") if site == "head" and heads.strip() else (),
        indices=parse_ints(st.session_state["ab_index"], "neuron indices") if site == "neuron" else (),
        scale=float(st.session_state["ab_scale"]), noise_std=float(st.session_state["ab_noise"]),
        positions=parse_positions(st.session_state["ab_pos_list"]) if pos_mode == "chosen" else pos_mode)


def progress_bar(label: str):
    bar = st.progress(0.0, text=label)
    return bar, (lambda frac, msg: bar.progress(min(max(float(frac), 0.0), 1.0), text=msg))


common = dict(target=st.session_state["ab_target"] or None, reference=reference, counterfactual=counterfactual,
              budget=int(st.session_state["ab_budget"]))
tab_cmp, tab_sweep = st.tabs(["Compare clean vs ablated", "Sweeps"])

# --- single ablation ------------------------------------------------------------------------------
with tab_cmp:
    e1, e2, e3 = st.columns(3)
    seed("ab_gen", 0 if masked else 10, int)
    seed("ab_topk", 10, int)
    seed("ab_repair", False, as_bool)
    e1.number_input("Greedy tokens to generate", 0, 64, step=1, key="ab_gen", disabled=masked,
                    help="Decoders only; BERT is compared at its [MASK] positions.")
    e2.number_input("Top-k", 1, 50, step=1, key="ab_topk")
    e3.checkbox("Self-repair (direct vs total effect)", key="ab_repair", disabled=masked or site not in COMPONENTS,
                help="For attn_out, head, mlp_out or neuron in a pre-LN decoder.")
    publish("ab_gen", "ab_topk", "ab_repair")
    if st.button("Run ablation", type="primary", key="ab_run"):
        with shown_errors("Running the ablation"):
            bar, prog = progress_bar("Starting…")
            res = run_ablation(lm, st.session_state["ab_prompt"], build_ablation(),
                               top_k=int(st.session_state["ab_topk"]),
                               generate=0 if masked else int(st.session_state["ab_gen"]),
                               self_repair=bool(st.session_state["ab_repair"]) and not masked and site in COMPONENTS,
                               progress=prog, **common)
            bar.empty()
            st.session_state["ab_result"] = (info.name, res)
    stored = st.session_state.get("ab_result")
    if stored and stored[0] == info.name:
        res = stored[1]
        st.caption(f"{res.ablation.label()} · hooks left on the model: {lm.num_hooks()}"
                   + (f" · reference: {res.reference}" if res.reference else ""))
        comp = res.main
        if len(res.comparisons) > 1:
            pick = st.selectbox("[MASK] position", [c.position for c in res.comparisons], key="ab_mask_pick")
            comp = next(c for c in res.comparisons if c.position == pick)
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("KL(clean ‖ ablated)", f"{comp.kl:.4f} nats")
        if comp.clean.target_prob is not None:
            st.text(f"Target {res.target!r} at position {comp.position} (after {comp.token!r}):")
            m2.metric("p(target) ablated", f"{comp.ablated.target_prob:.4f}", f"{comp.target_prob_delta:+.4f}")
            m3.metric("logit(target) ablated", f"{comp.ablated.target_logit:.3f}", f"{comp.target_logit_delta:+.3f}")
            m4.metric("rank ablated (clean)", f"{comp.ablated.target_rank}", f"{comp.clean.target_rank} clean",
                      delta_color="off")
        fig = topk_figure(comp)
        st.plotly_chart(fig, key="ab_topk_fig")
        figure_download(fig, "ablation_topk", "ab_topk_fig_dl")
        st.dataframe(comp.frame(), hide_index=True)
        table_downloads(comp.frame(), "ablation_topk", "ab_topk_tbl")
        if res.generation_clean:
            st.subheader("Greedy generation")
            g1, g2 = st.columns(2)
            g1.text("clean:   " + repr("".join(res.generation_clean)))
            g2.text("ablated: " + repr("".join(res.generation_ablated)))
            if res.first_divergence is None:
                st.success("Identical generations: the ablation did not change the greedy continuation.")
            else:
                k = res.first_divergence
                st.warning(f"First divergence at generated token {k} (marked below).")
            gen = res.generation_frame()
            gen["mark"] = gen["first_divergence"].map(lambda x: "◀ first divergence" if x else "")
            st.dataframe(gen.drop(columns=["first_divergence"]), hide_index=True)
            table_downloads(gen, "ablation_generation", "ab_gen_tbl")
        if res.alignment:
            st.subheader("Patch alignment (from the end)")
            al = pd.DataFrame(list(res.alignment), columns=["position", "token", "cf_position", "cf_token"])
            st.dataframe(al, hide_index=True)
            table_downloads(al, "ablation_alignment", "ab_align_tbl")
        if res.self_repair is not None:
            sr = res.self_repair
            st.subheader("Self-repair")
            r1, r2, r3 = st.columns(3)
            r1.metric("direct effect (Δ logit)", f"{sr.direct_effect:+.3f}")
            r2.metric("total effect (Δ logit)", f"{sr.total_effect:+.3f}")
            r3.metric("total / direct", "n/a" if sr.ratio is None else f"{sr.ratio:.2f}")
            st.caption("Direct: the component's change is removed from the final residual stream only, everything "
                       "downstream as in the clean run. Total: everything downstream re-runs. A ratio well below 1 "
                       "means later layers compensated — the network rerouted around the cut, like a city grid "
                       "around an opened bridge; above 1, later layers amplified the damage.")
            fig = self_repair_figure(sr)
            st.plotly_chart(fig, key="ab_repair_fig")
            figure_download(fig, "ablation_self_repair", "ab_repair_fig_dl")
        json_download(res.to_dict(), "ablation_result", "ab_json", "⬇ Full result (JSON)")

# --- sweeps ------------------------------------------------------------------------------------------
with tab_sweep:
    seed("ab_sweep", "layers", choices=("layers", "heads", "scale"))
    seed("ab_metric", "target_prob_delta", choices=list(METRICS))
    seed("ab_scales", ",".join(f"{s:g}" for s in DEFAULT_SCALES))
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
    if st.button("Run sweep", type="primary", key="ab_sweep_run"):
        with shown_errors("Running the sweep"):
            try:
                scales = tuple(float(x) for x in st.session_state["ab_scales"].split(",") if x.strip())
            except ValueError:
                raise UserError("Scale values must be comma-separated numbers, e.g. 0,0.5,1,2.") from None
            bar, prog = progress_bar("Starting the sweep…")
            sw = sweep(lm, st.session_state["ab_prompt"], build_ablation(), kind, scales=scales, progress=prog, **common)
            bar.empty()
            st.session_state["ab_sweep_result"] = (info.name, sw)
    stored = st.session_state.get("ab_sweep_result")
    if stored and stored[0] == info.name:
        sw = stored[1]
        frame = sw.frame()
        st.caption(f"{sw.kind} sweep · {sw.ablation.label()} · predicting after position {sw.position} "
                   f"· hooks left on the model: {lm.num_hooks()}")
        if sw.target and sw.clean.target_prob is not None:
            st.text(f"Clean p({sw.target!r}) = {sw.clean.target_prob:.4f}")
        elif metric != "kl":
            st.info("No target token: showing the KL divergence.")
        plot = {"layers": layer_sweep_figure, "heads": head_sweep_figure, "scale": scale_sweep_figure}[sw.kind]
        fig = plot(frame, metric, title=f"{METRICS.get(metric, metric)} — {sw.kind} sweep")
        st.plotly_chart(fig, key="ab_sweep_fig")
        figure_download(fig, f"ablation_sweep_{sw.kind}", "ab_sweep_fig_dl")
        if sw.kind == "layers" and sw.target and sw.clean.target_prob is not None:
            worst = frame.nsmallest(3, "target_prob_delta")
            st.text("Layers that matter most for " + repr(sw.target) + ": " + ", ".join(
                f"layer {int(r.layer)} (Δp {r.target_prob_delta:+.3f})" for r in worst.itertuples()))
        st.dataframe(frame, hide_index=True)
        table_downloads(frame, f"ablation_sweep_{sw.kind}", "ab_sweep_tbl")
        json_download(sw.to_dict(), f"ablation_sweep_{sw.kind}", "ab_sweep_json", "⬇ Full sweep (JSON)")
