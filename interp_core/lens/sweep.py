"""Which words are decided early and which late: the z-score of the right token at every layer.

BERT (masked sweep): mask each token of the sentence in turn and track the original token's z-score at
the masked position through the layers. Decoders (next-token sweep): the actual next token's z-score at
every layer and position, read from one lens pass. Both are min-max normalised per token over layers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from interp_core.budgets import budgets
from interp_core.engine.scheduler import scheduled
from interp_core.errors import UserError
from interp_core.lens.logit_lens import LensResult, hidden_states, lens_head, resolve_method
from interp_core.lens.decode import target_zscores
from interp_core.engine.batching import rows_per_pass
from interp_core.engine.sites import n_site_layers
from interp_core.results import Progress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

SWEEP_BATCH = 16  # masked copies of the sentence per forward pass on a CPU (a GPU: engine/batching.rows_per_pass)


@dataclass(frozen=True, eq=False)
class LensSweep:
    """z-scores (S layers, N swept tokens) of each swept token's correct prediction."""

    kind: str  # "masked" (BERT) or "next-token" (decoders)
    model: str
    method: str
    tokens: tuple[str, ...]  # (N,) the tokens being predicted (masked token / actual next token)
    positions: tuple[int, ...]  # (N,) where they are read: masked position / position predicting the next token
    layers: tuple[int, ...]  # (S,) 0 = embeddings
    zscore: np.ndarray  # (S, N) float32
    normalized: np.ndarray  # (S, N) float32, min-max over layers per token (0 = its lowest layer, 1 = highest)

    def frame(self):
        import pandas as pd

        rows = [{"layer": layer, "position": p, "token": tok, "zscore": float(self.zscore[si, j]),
                 "normalized": float(self.normalized[si, j])}
                for si, layer in enumerate(self.layers) for j, (p, tok) in enumerate(zip(self.positions, self.tokens))]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "model": self.model, "method": self.method, "tokens": list(self.tokens),
                "positions": list(self.positions), "layers": list(self.layers), "zscore": self.zscore.tolist(),
                "normalized": self.normalized.tolist()}


def minmax_per_column(z: np.ndarray) -> np.ndarray:
    """(S, N) -> each column scaled to 0..1 over its layers; a constant column becomes 0."""
    lo = z.min(axis=0, keepdims=True)
    span = z.max(axis=0, keepdims=True) - lo
    return np.where(span > 0, (z - lo) / np.where(span > 0, span, 1.0), 0.0).astype(np.float32)


def next_token_sweep(result: LensResult) -> LensSweep:
    """Decoders: the actual next token's z at every layer, for positions 0..T-2 (from a lens result)."""
    if result.next_zscore is None:
        raise UserError("The next-token sweep is for decoders; BERT uses the masked sweep.")
    if len(result.tokens) < 2:
        raise UserError("The prompt needs at least two tokens to score next-token predictions.")
    z: np.ndarray = result.next_zscore[:, :-1].astype(np.float32)  # (S, T-1)
    return LensSweep("next-token", result.model, result.method, tuple(result.tokens[1:]),
                       tuple(range(len(result.tokens) - 1)), result.layers, z, minmax_per_column(z))


@scheduled("long")
def masked_sweep(lm: LoadedModel, prompt: str, method: str = "auto", progress: Progress | None = None) -> LensSweep:
    """BERT: mask each non-special token in turn; the original token's z at its masked position, every layer."""
    if not lm.info.masked_lm:
        raise UserError("The masked sweep is for masked language models (BERT); decoders get the next-token sweep.")
    method = resolve_method(lm, method)
    enc = lm.encode(prompt)
    budgets().lens_tokens.check(len(enc.tokens))
    ids = enc.input_ids[0]  # (T,)
    mask_id = lm.tokenizer.mask_token_id
    special = set(lm.tokenizer.all_special_ids)
    positions = [p for p, t in enumerate(ids.tolist()) if t not in special]
    if not positions:
        raise UserError("The prompt has no ordinary tokens to mask; type a sentence.")
    head = lens_head(lm, method)
    n_states = n_site_layers("resid", lm.adapter.n_layers)
    z_cols = []
    per = SWEEP_BATCH if lm.device.type != "cuda" else rows_per_pass(len(ids), lm.device)
    n_batches = -(-len(positions) // per)
    for b in range(n_batches):
        pos = positions[b * per:(b + 1) * per]
        batch = ids.unsqueeze(0).repeat(len(pos), 1)  # (n, T): copy j masks position pos[j]
        idx = torch.arange(len(pos), device=ids.device)
        pos_t = torch.tensor(pos, device=ids.device)
        batch[idx, pos_t] = mask_id
        hid = hidden_states(lm, batch)  # (S, n, T, D)
        rows = hid[:, idx, pos_t].reshape(n_states * len(pos), -1)  # (S*n, D)
        originals = ids[pos_t].repeat(n_states)  # (S*n,)
        span = (b / n_batches, (b + 1) / n_batches)
        z = target_zscores(head, rows, originals, progress, span, f"Masked sweep batch {b + 1}/{n_batches}")
        z_cols.append(z.reshape(n_states, len(pos)))
    z = torch.cat(z_cols, 1).numpy().astype(np.float32)  # (S, N)
    tokens = tuple(lm.token_strings(ids[positions].tolist()))
    return LensSweep("masked", lm.spec.name, method, tokens, tuple(positions), tuple(range(n_states)),
                       z, minmax_per_column(z))


def _next_token_from_moments(lm: LoadedModel, prompt: str, method: str = "auto", progress: Progress | None = None) -> LensSweep:
    """next_token_sweep's numbers without running the lens first: the actual next token's z at every layer,
    for positions 0..T-2 (a linear head needs no vocabulary pass at all; see lens.moments)."""
    if lm.info.masked_lm:
        raise UserError("The next-token sweep is for decoders; BERT uses the masked sweep.")
    method = resolve_method(lm, method)
    enc = lm.encode(prompt)
    budgets().lens_tokens.check(len(enc.tokens))
    ids = enc.input_ids[0]  # (T,)
    if ids.numel() < 2:
        raise UserError("The prompt needs at least two tokens to score next-token predictions.")
    head = lens_head(lm, method)
    if progress is not None:
        progress(0.0, "Running the model")
    hid = hidden_states(lm, enc.input_ids)[:, 0, :-1]  # (S, T-1, D): positions that have a next token
    n_states, n_pos = hid.shape[:2]
    nxt = ids[1:].repeat(n_states)  # (S*(T-1),)
    z = target_zscores(head, hid.reshape(n_states * n_pos, -1), nxt, progress, (0.1, 1.0), "Next-token sweep")
    z = z.reshape(n_states, n_pos).numpy().astype(np.float32)
    return LensSweep("next-token", lm.spec.name, method, tuple(enc.tokens[1:]), tuple(range(n_pos)),
                       tuple(range(n_states)), z, minmax_per_column(z))


def lens_sweep(lm: LoadedModel, prompt: str, method: str = "auto", progress: Progress | None = None) -> LensSweep:
    """The sweep that fits the model: masked for BERT, next-token for decoders."""
    if lm.info.masked_lm:
        return masked_sweep(lm, prompt, method, progress)
    return _next_token_from_moments(lm, prompt, method, progress)
