"""Features in the neuron explorer: the SAE picker (trained SAEs, or any id), "train one for this layer" when none
is available, "features on my prompt" (a latent there opens as the explored feature) and "ablate this feature"
(clean vs ablated next-token prediction on the feature's strongest context) and "steer with this feature" (the
playground's steering mode adding its decoder direction there)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from ..downloads import table_downloads
from ..errors import shown_errors
from ..jobs.features import (
    FEATURE_ABLATION,
    FEATURES,
    TRAIN,
    TRAIN_DEFAULTS,
    FeatureAblationKey,
    FeaturesKey,
    feature_site,
    feature_steer_place,
    sae_options,
    train_key,
)
from ..links import open_steering, steer_values, steering_prompt
from ..runner import run_keyed
from ..state import seed

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.data import TokenizedCorpus

OPEN_PENDING = "_ne_open_neuron"  # ui.sections.neuron_prompt.PENDING: applied to the explorer's boxes next run
OTHER = "Another SAE id…"
CONTEXT_TOKENS = 24
FEATURE_ALPHA = 0.2  # "steer with this feature": α as a multiple of the site's typical norm


def render_sae_picker(lm: LoadedModel, tc: TokenizedCorpus, corpus_sha: str, model_layers: int, seq_len: int
                      ) -> tuple[str, int, int] | None:
    """Pick an SAE -> (site 'sae:ID', its layer, its latents), or None (then "train one" is offered)."""
    options = sae_options(lm)
    seed("ne_sae", options[0] if options else OTHER)  # ?ne_sae=ID opens that SAE
    if not st.session_state["ne_sae"]:
        st.session_state["ne_sae"] = options[0] if options else OTHER
    if st.session_state["ne_sae"] not in (*options, OTHER):
        st.session_state["ne_sae_other"] = st.session_state["ne_sae"]  # an id from the URL
        st.session_state["ne_sae"] = OTHER
    c = st.columns([2, 3])
    c[0].selectbox("SAE", [*options, OTHER], key="ne_sae",
                   help="SAEs trained here for this model; or type a folder or a SAELens 'RELEASE/SAE_ID'.")
    sae = st.session_state["ne_sae"]
    if sae == OTHER:
        sae = c[1].text_input("SAE id", key="ne_sae_other",
                              placeholder="gemma-scope-2-270m-pt-res/layer_12_width_16k_l0_medium").strip()
    picked = None
    if sae:
        with shown_errors("Loading the SAE"):
            picked = feature_site(lm, sae)
    if picked is None:
        st.info("No SAE for this model yet: train one for a layer below (it is saved and offered here).")
    with st.expander("Train an SAE for a layer", expanded=picked is None):
        render_train(lm, tc, corpus_sha, model_layers, seq_len)
    return picked


def render_train(lm: LoadedModel, tc: TokenizedCorpus, corpus_sha: str, model_layers: int, seq_len: int) -> None:
    c = st.columns(4)
    st.session_state.setdefault("ne_train_layer", min(6, model_layers - 1))
    c[0].number_input(f"Block L (0–{model_layers - 1})", min_value=0, max_value=model_layers - 1, step=1,
                      key="ne_train_layer", help="trains on the residual stream after block L (blocks.L.hook_resid_post)")
    for col, name, step in ((c[1], "latents", 512), (c[2], "k", 4), (c[3], "max_tokens", 4096)):
        st.session_state.setdefault(f"ne_train_{name}", TRAIN_DEFAULTS[name])
        col.number_input({"latents": "Latents", "k": "Active per token (k)", "max_tokens": "Training tokens"}[name],
                         min_value=1, step=step, key=f"ne_train_{name}")
    key = train_key(lm, tc, corpus_sha, int(st.session_state["ne_train_layer"]), seq_len,
                    latents=int(st.session_state["ne_train_latents"]), k=int(st.session_state["ne_train_k"]),
                    max_tokens=int(st.session_state["ne_train_max_tokens"]))
    with shown_errors("Training the SAE"):
        kept = run_keyed(TRAIN, lm, key, action="Training a TopK SAE", button="Train one for this layer",
                         button_help="A TopK SAE (Gao et al. 2024) on this corpus; saved in the SAELens format.",
                         show_stale=False)
        if kept is not None and not kept.stale:
            rep = kept.result
            st.success(f"Trained **{rep.name}**: explained variance {rep.metrics['explained_variance']:.3f}, "
                       f"L0 {rep.metrics['l0']:.1f}, dead {rep.metrics['dead_fraction']:.1%} on held-out tokens.")
            st.dataframe(rep.frame(), hide_index=True)
            if st.session_state.get("_ne_sae_trained") != rep.name:
                st.session_state["_ne_sae_trained"] = rep.name
                st.session_state["_ne_sae_pick"] = rep.name
                st.rerun()


def apply_trained_pick() -> None:
    """A freshly trained SAE becomes the picked one (call before the picker is drawn)."""
    name = st.session_state.pop("_ne_sae_pick", None)
    if name is not None:
        st.session_state["ne_sae"] = name


def _open(feature: int) -> None:
    st.session_state[OPEN_PENDING] = int(feature)
    st.session_state["ne_pdim"] = int(feature)


def render_prompt_features(lm: LoadedModel, sae: str, prompt: str) -> None:
    """Which features fire on the prompt: across it (ranked by their largest activation) and at each token."""
    kept = run_keyed(FEATURES, lm, FeaturesKey(repr(lm.spec), prompt, sae), action="Encoding your prompt",
                     auto=True, show_stale=False)
    if kept is None or kept.stale:
        return
    pf = kept.result
    st.markdown(f"**Features on your prompt** — {len(pf.overall)} latents fire; strongest first")
    left, right = st.columns([3, 2])
    left.dataframe(pf.overall, hide_index=True, height=300, key="ne_feat_overall")
    with right:
        pos = st.number_input(f"Token position (0–{len(pf.tokens) - 1})", min_value=0, max_value=len(pf.tokens) - 1,
                              value=len(pf.tokens) - 1, step=1, key="ne_feat_pos")
        st.caption(f"Token {pf.tokens[int(pos)]!r}:")
        st.dataframe(pf.at(int(pos)), hide_index=True, height=220, key="ne_feat_at")
        picks = pf.overall["feature"].tolist()
        if picks:
            choice = st.selectbox("Open feature", picks, key="ne_feat_open_pick",
                                  format_func=lambda f: f"#{f}")
            st.button("Open this feature", key="ne_feat_open", on_click=_open, args=(int(choice),),
                      help="Shows it in every tab (its top contexts in the layer scan, its activation here).")
    table_downloads(pf.overall, f"features_{sae.replace('/', '_')}_prompt", "ne_feat_dl")


def ablation_prompt(lm: LoadedModel, tc: TokenizedCorpus, index: int) -> tuple[str, str]:
    """(the prompt ending at corpus token `index`, the corpus token that followed it)."""
    lo = max(0, index - CONTEXT_TOKENS)
    prompt = lm.tokenizer.decode([int(i) for i in tc.ids[lo:index + 1]])
    nxt = lm.tokenizer.decode([int(tc.ids[index + 1])]) if index + 1 < len(tc.ids) else ""
    return prompt, nxt


def feature_steering_values(prompt: str, sae: str, feature: int, site: str, layer: int) -> dict[str, Any]:
    """The playground's steering mode adding feature `feature` of `sae` (its decoder direction) at (site, layer)."""
    return steer_values(prompt, site=site, layer=layer, src="feature", sae=sae, feature=int(feature),
                        alpha=FEATURE_ALPHA, unit="norm")


def render_feature_steer(lm: LoadedModel, tc: TokenizedCorpus, sae: str, feature: int,
                         contexts: list[dict[str, Any]]) -> None:
    """'Steer with this feature': its decoder direction added where it writes, on the text before its strongest
    context (like "steer with this neuron")."""
    if not contexts or not lm.info.has_lm_head or lm.info.masked_lm:
        return
    prompt = steering_prompt(lm, tc, int(contexts[0]["index"]))
    place = None
    with shown_errors("Placing the feature's direction"):
        place = feature_steer_place(lm, sae)
    if place is None:
        return
    if st.button("🧭 Steer with this feature", key="ne_steer_feature",
                 help=f"Add feature {feature}'s decoder direction at {place[0]} {place[1]} on the text before its "
                      "strongest context and compare the clean and steered continuations."):
        open_steering(feature_steering_values(prompt, sae, feature, *place))


def render_feature_ablation(lm: LoadedModel, tc: TokenizedCorpus, sae: str, feature: int,
                            contexts: list[dict[str, Any]]) -> None:
    """'Ablate this feature' on its strongest context: clean vs ablated next-token prediction."""
    if not contexts or not lm.info.has_lm_head or lm.info.masked_lm:
        return
    prompt, nxt = ablation_prompt(lm, tc, int(contexts[0]["index"]))
    key = FeatureAblationKey(repr(lm.spec), prompt, sae, int(feature), nxt if nxt.strip() else None)
    with shown_errors("Ablating the feature"):
        kept = run_keyed(FEATURE_ABLATION, lm, key, action="Ablating the feature", button="✂️ Ablate this feature",
                         button_help="Subtract this feature's decoded contribution at every position of its strongest "
                                     "context (the SAE's error term stays) and compare the next-token prediction.",
                         show_stale=False)
    if kept is None or kept.stale:
        return
    comp = kept.result.comparisons[-1]
    st.markdown(f"**Clean vs feature {feature} ablated** on …{prompt[-60:]!r} → next corpus token {nxt!r}")
    st.caption(f"KL(clean ‖ ablated) = {comp.kl:.4g} nats"
               + (f" · p({nxt!r}) {comp.clean.target_prob:.4f} → {comp.ablated.target_prob:.4f}"
                  if comp.clean.target_prob is not None and comp.ablated.target_prob is not None else ""))
    st.dataframe(comp.frame(), hide_index=True, key="ne_feat_ablation_table")
