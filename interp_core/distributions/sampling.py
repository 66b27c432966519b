"""Which tokens a distribution run measures: a prompt as the model sees it, or windows spread over a corpus."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from interp_core.data.tokens import special_wrapping
from interp_core.engine.model import LoadedModel
from interp_core.budgets import budgets
from interp_core.errors import UserError


@dataclass(frozen=True)
class Sample:
    """Token sequences to run, each with the model's own special tokens (BOS / [CLS] … [SEP])."""

    sequences: tuple[tuple[int, ...], ...]
    description: str

    @property
    def n_tokens(self) -> int:
        return sum(len(s) for s in self.sequences)


def prompt_sample(lm: LoadedModel, text: str) -> Sample:
    """One sequence: the prompt as the model sees it (UserError when empty or longer than the context)."""
    enc = lm.encode(text)
    return Sample((tuple(int(i) for i in enc.input_ids[0].tolist()),), f"prompt ({len(enc.tokens)} tokens)")


def corpus_sample(lm: LoadedModel, text: str, max_tokens: int, *, window: int = 256, name: str = "corpus") -> Sample:
    """Windows of up to `window` tokens (special tokens included) spread evenly over the text, `max_tokens` in all.

    Short texts are cut into consecutive windows from the start; long ones are sampled at evenly spaced
    character offsets (snapped to whitespace), so only what is used gets tokenized.
    """
    if not isinstance(text, str) or not text.strip():
        raise UserError("The corpus is empty; paste or choose some text.")
    max_tokens = int(max_tokens)
    budgets().histogram_tokens.check(max_tokens)
    tok = lm.tokenizer
    prefix, suffix = special_wrapping(tok)
    window = min(int(window), int(lm.adapter.n_ctx))
    content = window - len(prefix) - len(suffix)
    if content < 1:
        raise UserError(f"The window of {window} tokens leaves no room for text; use a larger window.")
    if max_tokens < len(prefix) + len(suffix) + 2:
        raise UserError(f"The token budget must be at least {len(prefix) + len(suffix) + 2} tokens.")
    n_win = math.ceil(max_tokens / window)
    span = content * 8 + 64  # characters per window: generous, English runs about 4 characters a token
    chunks: list[list[int]] = []
    if len(text) <= 2 * n_win * span:
        ids = list(tok(text, add_special_tokens=False)["input_ids"])
        chunks = [ids[i:i + content] for i in range(0, len(ids), content)]
    else:
        for start in np.linspace(0, len(text) - span, n_win).astype(int):
            start = int(start)
            if start > 0:  # begin at a word boundary
                ws = min((j for j in (text.find(" ", start), text.find("\n", start)) if j >= 0), default=start)
                start = ws + 1 if ws - start < 64 else start
            ids = list(tok(text[start:start + span], add_special_tokens=False)["input_ids"])[:content]
            if ids:
                chunks.append(ids)
    sequences: list[tuple[int, ...]] = []
    left = max_tokens
    for chunk in chunks:
        room = left - len(prefix) - len(suffix)
        if room < 1:
            break
        seq = (*prefix, *chunk[:room], *suffix)
        sequences.append(tuple(int(i) for i in seq))
        left -= len(seq)
    if not sequences:
        raise UserError("The corpus produced no tokens; choose another text.")
    total = sum(len(s) for s in sequences)
    windows = "1 window" if len(sequences) == 1 else f"{len(sequences)} windows"
    return Sample(tuple(sequences), f"{name}: {windows}, {total:,} tokens")
