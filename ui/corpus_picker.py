"""One corpus chooser for every page: built-in text, Gutenberg book, local file, upload or paste."""
from __future__ import annotations

import streamlit as st

from interp_core import UserError
from interp_core.data import BUILTINS, Corpus, load_corpus

from .state import seed

KINDS = ("Built-in", "Project Gutenberg", "Local file", "Upload .txt", "Paste text")


def corpus_picker(key: str, label: str = "Corpus") -> Corpus | None:
    """Render the chooser (state under `key`, URL-shareable) and return the Corpus, or None with a message."""
    seed(f"{key}_src", f"builtin:{next(iter(BUILTINS))}")
    src = st.session_state[f"{key}_src"]
    default_kind = ("Built-in" if src.startswith("builtin:") else "Project Gutenberg" if src.startswith("gutenberg:")
                    else "Local file")
    if f"{key}_kind" not in st.session_state:
        st.session_state[f"{key}_kind"] = default_kind
    kind = st.radio(label, KINDS, key=f"{key}_kind", horizontal=True)
    try:
        if kind == "Built-in":
            names = list(BUILTINS)
            cur = src.split(":", 1)[1] if src.startswith("builtin:") and src.split(":", 1)[1] in names else names[0]
            name = st.selectbox("Built-in text", names, index=names.index(cur), key=f"{key}_builtin",
                                format_func=lambda n: f"{n} — {BUILTINS[n][1]}")
            st.session_state[f"{key}_src"] = f"builtin:{name}"
            corpus = load_corpus(f"builtin:{name}")
        elif kind == "Project Gutenberg":
            cur = src.split(":", 1)[1] if src.startswith("gutenberg:") else "12"
            book = st.text_input("Book number", value=cur, key=f"{key}_gutenberg",
                                 help="Downloaded once and cached; 12 = Through the Looking-Glass.")
            st.session_state[f"{key}_src"] = f"gutenberg:{book.strip()}"
            corpus = load_corpus(f"gutenberg:{book.strip()}")
        elif kind == "Local file":
            cur = "" if src.startswith(("builtin:", "gutenberg:")) else src
            path = st.text_input("Path to a UTF-8 .txt file on the server", value=cur, key=f"{key}_path")
            if not path.strip():
                st.info("Type the path of a text file on the server.")
                return None
            st.session_state[f"{key}_src"] = path.strip()
            corpus = load_corpus(path.strip())
        elif kind == "Upload .txt":
            up = st.file_uploader("Text file", type=["txt"], key=f"{key}_upload")
            if up is None:
                st.info("Upload a UTF-8 .txt file.")
                return None
            corpus = Corpus.from_bytes(up.getvalue(), up.name, f"upload: {up.name}")
        else:
            text = st.text_area("Text", key=f"{key}_paste", height=150)
            if not text.strip():
                st.info("Paste some text.")
                return None
            corpus = Corpus.from_text(text)
    except UserError as e:
        st.error(str(e))
        return None
    st.caption(f"{corpus.name}: {len(corpus.text):,} characters · {corpus.source}")
    return corpus


def corpus_src(key: str) -> str:
    """The shareable source string for the URL ('' for uploads/pastes, which cannot be linked)."""
    kind = st.session_state.get(f"{key}_kind")
    return st.session_state.get(f"{key}_src", "") if kind in ("Built-in", "Project Gutenberg", "Local file") else ""
