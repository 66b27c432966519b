"""A corpus tokenized once per tokenizer (ids cached on disk), and how windows of it are fed to the model.

Windows hold `seq_len` corpus tokens wrapped in the tokenizer's own special tokens (BOS for Gemma/Llama,
[CLS] … [SEP] for BERT, nothing for GPT-2), exactly as `LoadedModel.encode` would add them. Activations at
those special positions are never reported: every reported position is a real corpus token, addressed by
its index in the tokenized corpus, so anyone can recompute it from the provenance.
"""
from __future__ import annotations

import hashlib
import json
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from interp_core.data.corpus import Corpus
from interp_core.errors import UserError
from interp_core.results import atomic_write
from interp_core.settings import load_settings

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

_FINGERPRINTS: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()
TOKENS_VERSION = 2


def tokenizer_fingerprint(tokenizer) -> str:
    """Stable hash of a tokenizer's full definition (vocab, merges, normalizer, specials); memoized per object."""
    try:
        return _FINGERPRINTS[tokenizer]
    except (KeyError, TypeError):
        pass
    backend = getattr(tokenizer, "backend_tokenizer", None)
    h = hashlib.sha256()
    h.update(type(tokenizer).__name__.encode())
    if backend is not None:
        h.update(backend.to_str().encode("utf-8"))
    else:  # slow tokenizer: the vocab is the best identity we have
        h.update(json.dumps(sorted(tokenizer.get_vocab().items()), ensure_ascii=False).encode("utf-8"))
    fp = h.hexdigest()[:24]
    try:
        _FINGERPRINTS[tokenizer] = fp
    except TypeError:
        pass
    return fp


def special_wrapping(tokenizer) -> tuple[list[int], list[int]]:
    """The special ids the tokenizer puts before and after a text (e.g. ([bos], []) or ([cls], [sep]))."""
    plain = tokenizer("hello", add_special_tokens=False)["input_ids"]
    full = tokenizer("hello", add_special_tokens=True)["input_ids"]
    for i in range(len(full) - len(plain) + 1):
        if full[i:i + len(plain)] == plain:
            return list(full[:i]), list(full[i + len(plain):])
    return [], []


@dataclass(frozen=True, eq=False)
class TokenizedCorpus:
    """A corpus as one long id array (no special tokens) plus the wrapping every window gets."""

    corpus: Corpus
    ids: np.ndarray  # (N,) int64 token ids of the whole text, tokenized in one piece without special tokens
    tokenizer_fp: str
    prefix: tuple[int, ...]  # special ids put before every window (BOS / [CLS])
    suffix: tuple[int, ...]  # special ids put after every window ([SEP])
    prefix_tokens: tuple[str, ...]
    suffix_tokens: tuple[str, ...]

    @property
    def n_tokens(self) -> int:
        return int(self.ids.shape[0])

    @property
    def bos_prepended(self) -> bool:
        return bool(self.prefix)

    def provenance(self) -> dict:
        """Top-level fields saying how the corpus was tokenized (what an index into it means)."""
        return {
            "corpus": self.corpus.name, "corpus_source": self.corpus.source, "corpus_sha256": self.corpus.sha256,
            "tokenizer_fingerprint": self.tokenizer_fp, "n_tokens": self.n_tokens,
            "tokenization": "whole text tokenized once without special tokens; 'index' is a position in that id list",
            "window_prefix": list(self.prefix_tokens), "window_suffix": list(self.suffix_tokens),
            "bos_prepended": self.bos_prepended,
            "specials_excluded": "activations at the window's special tokens are never reported",
        }

    def batch(self, starts, seq_len: int, device) -> torch.Tensor:
        """Model input for windows [s, s+seq_len) of the corpus: (B, P + seq_len + S) long on `device`."""
        starts = np.asarray(starts, dtype=np.int64)
        rows = self.ids[starts[:, None] + np.arange(seq_len)[None, :]]  # (B, seq_len)
        parts = []
        if self.prefix:
            parts.append(np.broadcast_to(np.asarray(self.prefix, dtype=np.int64), (len(starts), len(self.prefix))))
        parts.append(rows)
        if self.suffix:
            parts.append(np.broadcast_to(np.asarray(self.suffix, dtype=np.int64), (len(starts), len(self.suffix))))
        return torch.from_numpy(np.ascontiguousarray(np.concatenate(parts, axis=1))).to(device)

    def content(self, acts: torch.Tensor) -> torch.Tensor:
        """Drop the special positions: (B, P+T+S, ...) -> (B, T, ...)."""
        end = acts.shape[1] - len(self.suffix)
        return acts[:, len(self.prefix):end]

    def check_window(self, seq_len: int, n_ctx: int) -> None:
        if seq_len < 1:
            raise UserError(f"The window length must be at least 1 token (got {seq_len}).")
        room = n_ctx - len(self.prefix) - len(self.suffix)
        if seq_len > room:
            raise UserError(f"Windows of {seq_len} tokens do not fit this model's context of {n_ctx} tokens "
                            f"(at most {room} with its special tokens).")
        if self.n_tokens < seq_len:
            raise UserError(f"The corpus has only {self.n_tokens:,} tokens, shorter than one window of {seq_len} "
                            "tokens; use a longer text or a shorter window.")


def _encode_text(tokenizer, text: str) -> np.ndarray:
    # truncation=False overrides a backend truncation some tokenizers ship with (MiniLM: 128 tokens);
    # verbose=False drops the longer-than-the-model warning: windows are cut later, not here
    ids = tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
    return np.asarray(ids, dtype=np.int64)


def tokenize_corpus(lm: LoadedModel, corpus: Corpus, *, use_cache: bool = True) -> TokenizedCorpus:
    """Tokenize `corpus` for `lm`'s tokenizer; ids are cached on disk keyed by tokenizer and corpus hash."""
    tok = lm.tokenizer
    fp = tokenizer_fingerprint(tok)
    path = load_settings().cache_dir / "tokens" / f"v{TOKENS_VERSION}_{fp}_{corpus.sha256[:32]}.npy"
    ids = None
    if use_cache and path.exists():
        try:
            ids = np.load(path)
        except (OSError, ValueError):
            ids = None
    if ids is None:
        ids = _encode_text(tok, corpus.text)
        if use_cache:
            atomic_write(path, lambda tmp: np.save(tmp, ids), suffix=".part.npy")
    if ids.size == 0:
        raise UserError("The corpus has no tokens; choose a text with some words in it.")
    prefix, suffix = special_wrapping(tok)
    return TokenizedCorpus(corpus, ids, fp, tuple(prefix), tuple(suffix),
                           tuple(lm.token_strings(prefix)), tuple(lm.token_strings(suffix)))


def token_strings(lm: LoadedModel, ids, memo: dict | None = None) -> list[str]:
    """lm.token_strings with an optional id -> string memo (building thousands of contexts decodes the same ids)."""
    if memo is None:
        return lm.token_strings(ids)
    missing = [i for i in dict.fromkeys(int(i) for i in ids) if i not in memo]
    memo.update(zip(missing, lm.token_strings(missing)))
    return [memo[int(i)] for i in ids]


def display_tokens(lm: LoadedModel, ids, memo: dict | None = None) -> list[str]:
    """Token strings that join into readable text (WordPiece '##ing' -> 'ing', other BERT pieces get a space)."""
    toks = token_strings(lm, ids, memo)
    if lm.adapter.family != "bert":
        return toks
    return [t[2:] if t.startswith("##") else (" " + t if i else t) for i, t in enumerate(toks)]


def context(lm: LoadedModel, tc: TokenizedCorpus, index: int, window_start: int, window_end: int,
            left: int = 12, right: int = 4, memo: dict | None = None) -> tuple[list[str], int]:
    """Display tokens around corpus position `index`, clipped to its window; also the position of `index` in them."""
    lo = max(window_start, index - left)
    hi = min(window_end, index + right + 1)
    return display_tokens(lm, tc.ids[lo:hi].tolist(), memo), index - lo


def context_text(tokens: list[str], pos: int) -> str:
    """Plain-text context with the reported token bracketed: 'the queen ran [ faster] and'."""
    return "".join(tokens[:pos]) + "[" + tokens[pos] + "]" + "".join(tokens[pos + 1:])
