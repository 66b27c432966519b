"""The shared sidebar: pick a model (embedded, hub id or local folder) and device; load it once."""
from __future__ import annotations

import streamlit as st

import interp_core
from interp_core import EMBEDDED
from interp_core.paths import restrict_to

from .cache import cached_model
from .errors import shown_errors
from .state import publish, seed

CUSTOM = "Other: hub id or local folder…"


def _choices() -> list[str]:
    workshop = interp_core.load_settings().workshop_models
    return list(workshop) if workshop else [*EMBEDDED, CUSTOM]


def model_sidebar():
    """Render the sidebar and return the LoadedModel, or None (with a message) when none is loaded."""
    settings = interp_core.load_settings()
    # A shared server: local model folders and corpus files only from the allowed roots, for this whole run.
    restrict_to(settings.server_roots)
    choices = _choices()
    seed("model", settings.default_model if settings.default_model in choices else choices[0])
    if st.session_state["model"] not in choices:
        st.session_state.setdefault("model_custom", st.session_state["model"])
        st.session_state["model"] = CUSTOM if CUSTOM in choices else choices[0]
    seed("device", "auto", choices=("auto", "cpu", "cuda"))
    seed("dtype", "float32", choices=("float32", "bfloat16", "float16"))
    with st.sidebar:
        st.header("Model")
        pick = _bound(st.selectbox, "model", "Model", choices,
                      format_func=lambda n: f"{n} — {EMBEDDED[n].description}" if n in EMBEDDED else n)
        name = pick
        if pick == CUSTOM:
            st.session_state.setdefault("model_custom", "")
            name = _bound(st.text_input, "model_custom", "Hub id or local folder",
                          placeholder="gpt2, EleutherAI/gpt-neo-125m, /models/my-bert").strip()
        cols = st.columns(2)
        with cols[0]:
            _bound(st.selectbox, "device", "Device", ("auto", "cpu", "cuda"))
        with cols[1]:
            _bound(st.selectbox, "dtype", "Dtype", ("float32", "bfloat16", "float16"),
                   help="Half precision is offered on a GPU only.")
        if pick == CUSTOM:
            st.query_params["model"] = name
            publish("device", "dtype")
        else:
            publish("model", "device", "dtype")
        if not name:
            st.info("Type a hub id (e.g. gpt2) or a local model folder.")
            return None
        lm = None
        with shown_errors("Loading the model"):
            spec = interp_core.make_spec(name, device=st.session_state["device"], dtype=st.session_state["dtype"])
            lm = _load(spec)
        if lm is None:
            return None
        info = lm.info
        st.caption(
            f"**{info.family}** · {info.n_layers} layers · d_model {info.d_model} · d_mlp {info.d_mlp} · "
            f"{info.n_heads} heads · vocab {info.vocab_size:,} · {info.device} / {info.dtype}"
            + ("" if info.has_lm_head else " · no LM head"))
        st.caption(f"Source: {info.source}")
    return lm


def _bound(widget, key: str, *args, **kwargs):
    """A frame widget whose value lives under a plain session key.

    The frame is drawn by app.py or, for a direct link on a fresh server, by the page itself
    (ui.frame); Streamlit gives a widget a different identity in each, so its own state would reset.
    The plain key survives; the widget (key "w_<key>") is re-seeded from it each run.
    """
    wkey = f"w_{key}"
    st.session_state[wkey] = st.session_state[key]
    value = widget(*args, key=wkey, on_change=_copy_back, args=(key,), **kwargs)
    st.session_state[key] = value
    return value


def _copy_back(key: str) -> None:
    st.session_state[key] = st.session_state[f"w_{key}"]


def _load(spec):
    """First load shows progress (conversion / download); later loads come from the process cache."""
    if not interp_core.is_prepared(spec):
        bar = st.progress(0.0, text=f"Preparing {spec.name}…")
        interp_core.prepare_model(spec, progress=lambda f, m: bar.progress(min(max(f or 0.0, 0.0), 1.0), text=m))
        bar.empty()
    with st.spinner(f"Loading {spec.name}…"):
        return cached_model(spec)
