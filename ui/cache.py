"""Every `st.cache_*` wrapper of the app lives here. Models: one per identity per process, bounded."""
from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

import interp_core

if TYPE_CHECKING:  # annotations only: the first page paints before torch is imported
    from interp_core import LoadedModel, ModelSpec

_SETTINGS = interp_core.load_settings()


@st.cache_resource(max_entries=_SETTINGS.max_models, show_spinner=False)
def cached_model(spec: ModelSpec) -> LoadedModel:
    """Load once per process for the full identity (name, revision, device, dtype); shared by all sessions.

    Streamlit computes a missing entry once even when many sessions ask at the same time, and drops
    the least recently used model beyond LOOKING_GLASS_MAX_MODELS so its memory is freed.
    """
    from interp_core.engine.allocator import settle_heap

    lm = interp_core.load_model(spec)
    _LOADED.add(spec)
    settle_heap()  # Streamlit collects garbage after every script run; frozen, the model's objects cost it nothing
    return lm


_LOADED: set = set()  # specs cached_model has loaded in this process (may since have been evicted)


def any_loaded() -> bool:
    """Whether this process has loaded any model yet (before the first, even torch may not be imported)."""
    return bool(_LOADED)


def is_loaded(spec: ModelSpec) -> bool:
    """Whether cached_model(spec) should return at once (so the sidebar may load it before the page draws)."""
    return spec in _LOADED


@st.cache_resource(max_entries=8, show_spinner=False)
def cached_tokens(spec: ModelSpec, corpus_sha256: str, _lm: LoadedModel, _corpus):
    """A corpus tokenized for one model (ids also cached on disk); keyed by model identity and corpus hash."""
    from interp_core.data import tokenize_corpus

    return tokenize_corpus(_lm, _corpus)


@st.cache_resource(show_spinner=False)
def shared_store():
    """Results any session may reuse (ui.runner run_keyed(shared=True)); one per process, bounded in bytes."""
    from .store import SessionResults

    return SessionResults(max_bytes=512 * 1024 * 1024)


@st.cache_resource(max_entries=_SETTINGS.max_models, show_spinner=False)
def warmup(spec: ModelSpec, _lm: LoadedModel):
    """The background warm-up of one model (default layer scan, default ablation), started once per process."""
    from .warmup import Warmup

    return Warmup.start(_lm, shared_store())


@st.cache_resource(max_entries=_SETTINGS.max_models, show_spinner=False)
def weights_fingerprint(spec: ModelSpec, _lm: LoadedModel):
    """The model's weights checksum (engine.integrity), computed once per model in a background thread (seconds
    on a CPU): `.value` is None until it is ready. Started by the first pin, not by every model load."""
    import threading

    from interp_core.engine.integrity import weights_checksum

    class Fingerprint:
        value: str | None = None

    fp = Fingerprint()

    def work() -> None:
        fp.value = weights_checksum(_lm)

    threading.Thread(target=work, name="lg-weights-fingerprint", daemon=True).start()
    return fp
