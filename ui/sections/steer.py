"""The playground's steering mode: a direction (contrast, neuron, residual dimension, token, SAE feature, uploaded
vector) added at one site and layer; clean and steered next-token predictions and continuations side by side, the
tokens where they differ highlighted; a sweep of α whose points open that α's continuation. Every input is in
the URL (sv_*), except an uploaded vector's content, which stays in the session that uploaded it."""
from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import streamlit as st

from interp_core.steer_terms import ALPHA_UNITS, POSITIONS_HELP
from interp_core.ablation.steer_results import Continuation
from interp_core.engine.sites import CHOICES, STEER_SITES
from interp_core.plots.clickable import clicked_customdata
from interp_core.plots.steer import alpha_label, steer_sweep_figure, steer_topk_figure

from ..downloads import figure_download, json_download, table_downloads
from ..errors import shown_errors
from ..jobs.features import feature_site, sae_options
from ..jobs.steer import SOURCE_LABELS, SOURCES, STEER, STEER_SWEEP, steer_key, sweep_key, widget_defaults
from ..runner import run_keyed, wait_for_warmup
from ..state import as_bool, publish, seed, url_notices
from ..charts import chart

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.ablation.steer_results import SteerResult, SteerSweep

UPLOADS = "_sv_uploads"  # session-only: upload id -> Direction


def _seed_all(lm: LoadedModel) -> None:
    D, info = widget_defaults(lm), lm.info
    seed("sv_prompt", D["sv_prompt"])
    seed("sv_src", D["sv_src"], choices=SOURCES)
    for k in ("sv_a", "sv_b", "sv_neuron", "sv_token", "sv_upload", "sv_targets", "sv_alphas"):
        seed(k, D[k])
    seed("sv_cpos", D["sv_cpos"], choices=("last", "all"))
    seed("sv_dim", D["sv_dim"], int, lo=0, hi=info.d_model - 1)
    seed("sv_sae", D["sv_sae"])
    seed("sv_feature", D["sv_feature"], int, lo=0, hi=2**31 - 1)
    seed("sv_site", D["sv_site"], choices=STEER_SITES)
    seed("sv_layer", D["sv_layer"], int, lo=0, hi=CHOICES[st.session_state["sv_site"]].top_layer(info.n_layers))
    seed("sv_alpha", D["sv_alpha"], float, lo=-1e6, hi=1e6)
    seed("sv_unit", D["sv_unit"], choices=tuple(ALPHA_UNITS))
    seed("sv_pos", D["sv_pos"])
    seed("sv_raw", D["sv_raw"], as_bool)
    seed("sv_gen", D["sv_gen"], int, lo=0, hi=64)
    seed("sv_temp", D["sv_temp"], float, lo=0.0, hi=10.0)
    seed("sv_seed", D["sv_seed"], int, lo=0, hi=2**31 - 1)
    seed("sv_pick", "")


def _direction_inputs(lm: LoadedModel) -> Any:
    """The source's own fields; returns the session's uploaded Direction when the source is an upload."""
    info = lm.info
    src = st.radio("Direction", SOURCES, key="sv_src", horizontal=True, format_func=SOURCE_LABELS.get)
    if src == "contrast":
        c1, c2, c3 = st.columns([2, 2, 1])
        c1.text_area("Prompt(s) A (one per line)", key="sv_a", height=68)
        c2.text_area("Prompt(s) B (one per line)", key="sv_b", height=68)
        c3.radio("Positions", ("last", "all"), key="sv_cpos", help="each prompt's last token, or all its tokens "
                 "averaged (special tokens left out)")
        publish("sv_a", "sv_b", "sv_cpos")
    elif src == "neuron":
        st.text_input(f"Neuron LAYER:INDEX (layers 0..{CHOICES['mlp'].top_layer(info.n_layers)}, "
                      f"neurons 0..{info.d_mlp - 1})",
                      key="sv_neuron")
        publish("sv_neuron")
    elif src == "resid_dim":
        st.number_input(f"Residual dimension (0..{info.d_model - 1})", 0, info.d_model - 1, step=1, key="sv_dim")
        publish("sv_dim")
    elif src == "token":
        st.text_input("Token (with its leading space, e.g. ' love')", key="sv_token")
        publish("sv_token")
    elif src == "feature":
        _feature_inputs(lm)
    else:
        return _upload()
    return None


def _feature_inputs(lm: LoadedModel) -> None:
    """The SAE (those trained here for this model, or the id a link named) and the feature's index."""
    options = sae_options(lm)
    named = str(st.session_state.get("sv_sae") or "").strip()
    if named and named not in options:
        options = [named, *options]
    if not options:
        st.info("No SAE for this model yet: train one in the neuron explorer (pick the SAE site, then \"Train one for "
                "this layer\") or with `python -m interp_core sae train …`, then pick it here.")
        return
    if not named:
        st.session_state["sv_sae"] = options[0]
    c1, c2 = st.columns([3, 1])
    c1.selectbox("SAE", options, key="sv_sae", help="SAEs trained here for this model (or the id a link named).")
    width = None
    with shown_errors("Loading the SAE"):
        width = feature_site(lm, st.session_state["sv_sae"])[2]
    if width is not None and int(st.session_state["sv_feature"]) >= width:
        st.session_state["sv_feature"] = width - 1
    c2.number_input("Feature" if width is None else f"Feature (0..{width - 1})", 0,
                    None if width is None else width - 1, step=1, key="sv_feature")
    publish("sv_sae", "sv_feature")


def _upload() -> Any:
    from interp_core.ablation.vectors import vector_from_bytes

    kept: dict[str, Any] = st.session_state.setdefault(UPLOADS, {})
    f = st.file_uploader("A direction file (.npy or .safetensors; kept in this session only)",
                         type=["npy", "safetensors"], key="sv_file")
    if f is not None:
        data = f.getvalue()
        ident = f"{f.name}#{hashlib.sha256(data).hexdigest()[:12]}"
        if ident not in kept:
            with shown_errors("Reading the uploaded vector"):
                kept[ident] = vector_from_bytes(data, f.name)
        if ident in kept:
            st.session_state["sv_upload"] = ident
    ident = st.session_state.get("sv_upload", "")
    publish("sv_upload")
    if ident and ident in kept:
        st.caption(f"Uploaded vector {ident} (in this session only: a link to this view asks for the file again).")
    return kept.get(ident)


def _tokens_html(tokens: Sequence[str], other: Sequence[str], color: str) -> str:
    """The continuation as HTML, each token that differs from `other` at the same step highlighted."""
    spans = []
    for i, t in enumerate(tokens):
        text = html.escape(t).replace("\n", "↵")
        if i >= len(other) or other[i] != t:
            spans.append(f'<span class="sv-diff" style="background:{color};border-radius:3px">{text}</span>')
        else:
            spans.append(f"<span>{text}</span>")
    return "".join(spans)


def render_pair(prompt: str, clean: Continuation, steered: Continuation, label: str, key: str) -> None:
    """Clean and steered continuations side by side, differing tokens highlighted, coherence under each."""
    g1, g2 = st.columns(2)
    for col, name, mine, other, color in ((g1, "clean", clean, steered, "#cfe3f7"),
                                          (g2, label, steered, clean, "#fbd9b5")):
        col.markdown(f"**{name}**")
        col.markdown(f'<div class="sv-gen sv-gen-{key}-{name.split()[0]}" style="font-family:monospace;'
                     f'white-space:pre-wrap"><span style="color:#888">{html.escape(prompt)}</span>'
                     f"{_tokens_html(mine.tokens, other.tokens, color)}</div>", unsafe_allow_html=True)
        if mine.coherence is not None:
            col.caption(f"coherence (mean log-prob under the clean model): {mine.coherence:.2f}")


def render_result(lm: LoadedModel, res: SteerResult) -> None:
    from interp_core.ablation.vectors import vector_bytes

    site = CHOICES[res.steer.site]
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(f"Typical norm at {res.steer.site} {res.steer.layer}", f"{res.typical_norm:,.1f}",
              help="Mean ‖activation‖ over the prompt's non-special tokens: the scale a useful α is measured against.")
    m2.metric("Added ‖α·v‖", f"{res.added_norm:,.1f}", f"{res.added_norm / max(res.typical_norm, 1e-9):.2f}× typical",
              delta_color="off")
    m3.metric("KL(clean ‖ steered)", f"{res.kl:.3f} nats")
    m4.metric("First divergence", "none" if res.first_divergence is None else f"token {res.first_divergence}")
    st.caption(f"{res.steer.label()} · {site.help} · direction: {res.direction.label} "
               f"(‖v‖ = {res.direction.norm:,.2f}) · hooks left on the model: {lm.num_hooks()}")
    if res.generation_clean.tokens or res.generation_steered.tokens:
        how = "greedy" if res.sampling is None else \
            f"sampled at T = {res.sampling['temperature']:g}, seed {res.sampling['seed']} for both"
        st.subheader(f"Continuations ({how})")
        render_pair("".join(res.tokens[1:]) if res.tokens and res.tokens[0] in lm.tokenizer.all_special_tokens
                    else "".join(res.tokens), res.generation_clean, res.generation_steered, "steered", "main")
    if res.targets:
        st.text("  ".join(f"p({t!r}): {c:.4f} → {s:.4f}" for t, c, s in
                          zip(res.targets, res.clean_target_probs, res.steered_target_probs)))
    fig = steer_topk_figure(res)
    chart(fig, key="sv_topk_fig")
    figure_download(fig, "steering_topk", "sv_topk_fig_dl")
    table_downloads(res.frame(), "steering_topk", "sv_topk_tbl")
    d1, d2, d3 = st.columns(3)
    d1.download_button("⬇ Direction (.safetensors)", vector_bytes(res.direction, "safetensors"),
                       "direction.safetensors", key="sv_vec_st")
    d2.download_button("⬇ Direction (.npy)", vector_bytes(res.direction, "npy"), "direction.npy", key="sv_vec_npy")
    with d3:
        json_download(res.to_dict(), "steering_result", "sv_json", "⬇ Full result (JSON)")


def _picked(sw: SteerSweep) -> int | None:
    """The sweep point a click chose (kept in the URL as sv_pick, the α's label), or None."""
    event = st.session_state.get("sv_sweep_fig")
    cd = clicked_customdata(event)
    if cd:
        mark = repr(event)
        if st.session_state.get("_sv_pick_seen") != mark:  # a new click (the event stays in widget state)
            st.session_state["_sv_pick_seen"] = mark
            i = int(cd[0])
            if 0 <= i < len(sw.points):
                st.session_state["sv_pick"] = alpha_label(sw.points[i].alpha)
    labels = [alpha_label(p.alpha) for p in sw.points]
    pick = st.session_state.get("sv_pick", "")
    return labels.index(pick) if pick in labels else None


def render_sweep(lm: LoadedModel, upload: Any) -> None:
    s1, s2 = st.columns(2)
    s1.text_input("α values (start:stop:count or a comma list)", key="sv_alphas")
    s2.text_input("Target tokens ('|' between them, leading spaces kept; empty = the top tokens)", key="sv_targets")
    publish("sv_alphas", "sv_targets")
    key = sweep_key(lm, st.session_state, upload)
    wait_for_warmup(lm, STEER_SWEEP, key)
    kept = None
    with shown_errors("Running the α sweep"):
        kept = run_keyed(STEER_SWEEP, lm, key, action="Sweeping α", button="Run α sweep", auto=True)
    if kept is None:
        return
    sw = kept.result
    i = _picked(sw)
    publish("sv_pick")
    fig = steer_sweep_figure(sw, picked=i)
    chart(fig, key="sv_sweep_fig", on_select="rerun", selection_mode="points")
    figure_download(fig, "steering_sweep", "sv_sweep_fig_dl")
    table_downloads(sw.frame(), "steering_sweep", "sv_sweep_tbl")
    json_download(sw.to_dict(), "steering_sweep", "sv_sweep_json", "⬇ Full sweep (JSON)")
    if i is None:
        st.caption("Click a point to see that α's continuation here.")
        return
    p = sw.points[i]
    st.subheader(f"α = {alpha_label(p.alpha)}: clean vs steered")
    st.caption(f"added ‖α·v‖ = {p.added_norm:,.1f} · next token {p.side.top[0].token!r} "
               f"({p.side.top[0].prob:.3f})")
    render_pair("", sw.generation_clean, p.generation, f"steered α={alpha_label(p.alpha)}", "pick")


def render_steer(lm: LoadedModel) -> None:
    """The whole steering mode: inputs, the comparison, the sweep."""
    info = lm.info
    _seed_all(lm)
    url_notices()
    st.text_area("Prompt", key="sv_prompt", height=68)
    upload = _direction_inputs(lm)
    if st.session_state["sv_src"] == "feature" and not str(st.session_state.get("sv_sae") or "").strip():
        return  # no SAE to steer with: the inputs said how to get one
    c1, c2, c3, c4 = st.columns(4)
    c1.selectbox("Site", STEER_SITES, key="sv_site", format_func=lambda s: CHOICES[s].label)
    top = CHOICES[st.session_state["sv_site"]].top_layer(info.n_layers) or 0
    c2.number_input(f"Layer (0..{top})", 0, top, step=1, key="sv_layer")
    c3.number_input("α (strength)", step=0.25, key="sv_alpha", format="%g")
    c4.radio("α unit", tuple(ALPHA_UNITS), key="sv_unit", format_func={"abs": "absolute", "norm": "× typical norm"}.get,
             help=" · ".join(f"{k}: {v}" for k, v in ALPHA_UNITS.items()))
    e1, e2, e3, e4 = st.columns(4)
    e1.text_input("Positions", key="sv_pos", help=POSITIONS_HELP)
    e2.number_input("Tokens to generate", 0, 64, step=1, key="sv_gen", disabled=info.masked_lm)
    e3.number_input("Temperature (0 = greedy)", 0.0, 10.0, step=0.1, key="sv_temp")
    e4.number_input("Seed (same for both)", 0, 2**31 - 1, step=1, key="sv_seed")
    st.checkbox("Raw scale (keep the direction's own length instead of unit norm)", key="sv_raw")
    publish("sv_prompt", "sv_src", "sv_site", "sv_layer", "sv_alpha", "sv_unit", "sv_pos", "sv_gen", "sv_temp",
            "sv_seed", "sv_raw")
    key = None
    with shown_errors("Reading the steering inputs"):
        key = steer_key(lm, st.session_state, upload)
    if key is None:
        return
    wait_for_warmup(lm, STEER, key)
    kept = None
    with shown_errors("Steering"):
        kept = run_keyed(STEER, lm, key, action="Steering", button="Run steering", auto=True)
    if kept is not None:
        render_result(lm, kept.result)
    st.subheader("Strength sweep")
    render_sweep(lm, upload)
