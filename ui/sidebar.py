"""The shared sidebar: pick a model (embedded, hub id or local folder) and device; load it once."""
from __future__ import annotations

import streamlit as st

import interp_core
from interp_core import EMBEDDED
from interp_core.paths import restrict_to

from .cache import any_loaded, cached_model, is_loaded, warmup
from .errors import shown_errors
from .runner import bind_this_session
from .server_stats import start_stats_writer
from .state import publish, seed

CUSTOM = "Other: hub id or local folder…"
PENDING = "_lg_pending_model"  # a spec (or its (name, device, dtype)) the sidebar left for the main area to load


def _choices() -> list[str]:
    workshop = interp_core.load_settings().workshop_models
    return list(workshop) if workshop else [*EMBEDDED, CUSTOM]


def model_sidebar():
    """Render the sidebar and return the LoadedModel, or None (with a message) when none is loaded."""
    settings = interp_core.load_settings()
    st.session_state[PENDING] = None
    # A shared server: local model folders and corpus files only from the allowed roots, for this whole run.
    restrict_to(settings.server_roots)
    bind_this_session()  # the scheduler's one-job-per-session rule and fair queueing key on it
    start_stats_writer()  # only with LOOKING_GLASS_STATS_FILE set (load tests, operators)
    choices = _choices()
    seed("model", settings.default_model if settings.default_model in choices else choices[0])
    if st.session_state["model"] not in choices:
        st.session_state.setdefault("model_custom", st.session_state["model"])
        st.session_state["model"] = CUSTOM if CUSTOM in choices else choices[0]
    seed("device", "auto", choices=("auto", "cpu", "cuda"))
    seed("dtype", "auto", choices=("auto", "float32", "bfloat16", "float16"))
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
            _bound(st.selectbox, "dtype", "Dtype", ("auto", "float32", "bfloat16", "float16"),
                   help="auto: bfloat16 on a GPU that supports it, float32 on the CPU. Half precision is offered "
                        "on a GPU only.")
        if pick == CUSTOM:
            st.query_params["model"] = name
            publish("device", "dtype")
        else:
            publish("model", "device", "dtype")
        if not name:
            st.info("Type a hub id (e.g. gpt2) or a local model folder.")
            return None
        lm = None
        if not any_loaded():  # the process's first model: making its spec imports torch, after the page drew
            st.session_state[PENDING] = (name, st.session_state["device"], st.session_state["dtype"])
            st.caption(f"Preparing **{name}**… (progress in the main area)")
            return None
        with shown_errors("Loading the model"):
            spec = interp_core.make_spec(name, device=st.session_state["device"], dtype=st.session_state["dtype"])
            if is_loaded(spec):
                lm = cached_model(spec)
                warmup(spec, lm)
            else:  # slow (conversion, download, reading weights): done in the main area, after the page drew
                st.session_state[PENDING] = spec
                st.caption(f"Preparing **{spec.name}**… (progress in the main area)")
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


def load_pending():
    """Prepare and load the model the sidebar chose but left pending, in the main area with a real progress bar
    and an honest estimate; then rerun so the sidebar and page draw with it. Returns None when nothing was
    pending or loading failed (with its message shown)."""
    spec = st.session_state.get(PENDING)
    if spec is None:
        return None
    from .runner import progress_bar

    lm = None
    with st.container(border=True):
        with shown_errors("Loading the model"):
            if isinstance(spec, tuple):  # (name, device, dtype): see model_sidebar
                spec = interp_core.make_spec(spec[0], device=spec[1], dtype=spec[2])
            if not interp_core.is_prepared(spec):
                st.markdown(f"**Preparing {spec.name} once for this machine** — converting / fetching its weights "
                            "takes about a minute or two; later starts skip this step.")
                bar, progress = progress_bar(f"Preparing {spec.name}…")
                interp_core.prepare_model(spec, progress=progress)
                bar.empty()
            with st.spinner(f"Loading {spec.name} into memory (usually 5–30 s on a laptop CPU, once per server)…"):
                lm = cached_model(spec)
            warmup(spec, lm)
    if lm is not None:
        st.session_state[PENDING] = None
        st.rerun()
    return lm
