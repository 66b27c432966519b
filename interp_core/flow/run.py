"""Information flow contributions of one prompt: every attention edge (layer, destination, source, head) and MLP,
each with the residual stream's share, from one forward pass and a chunked decomposition."""
from __future__ import annotations

import numpy as np
import torch

from interp_core.budgets import budgets
from interp_core.engine.model import LoadedModel
from interp_core.engine.sites import choice
from interp_core.errors import UserError
from interp_core.flow.decompose import (
    attention_chunks,
    capture,
    mid_state,
    neuron_parts,
)
from interp_core.flow.results import FlowContributions, NeuronContributions, frozen_note
from interp_core.flow.shares import proximity
from interp_core.results import Progress

CHUNK_ELEMENTS = 1 << 24  # at most this many floats in one chunk's (c, S, H, D) parts (64 MiB in float32)


def chunk_size(t: int, n_heads: int, d_model: int) -> int:
    """Destinations per chunk, so (destinations × sources × heads × d_model) stays under CHUNK_ELEMENTS."""
    return max(1, min(t, CHUNK_ELEMENTS // max(1, t * n_heads * d_model)))


def _attention_shares(chunk) -> tuple[torch.Tensor, torch.Tensor]:
    """(c, S, H) shares of the (source, head) parts and (c,) of the residual: they sum to one per destination."""
    p = proximity(chunk.parts, chunk.whole) * (chunk.weights > 0)  # a masked source is not a part
    r = proximity(chunk.residual[:, None], chunk.whole)[:, 0]  # (c,)
    total = p.sum((1, 2)) + r
    return p / total[:, None, None], r / total


def information_flow(lm: LoadedModel, prompt: str, *, progress: Progress | None = None,
                     chunk: int | None = None) -> FlowContributions:
    """The dense contributions of every block at every position of `prompt` (see FlowContributions)."""
    a = lm.adapter
    enc = lm.encode(prompt)
    t = len(enc.tokens)
    budgets().flow_tokens.check(t)
    n, h = a.n_layers, a.n_heads
    if progress is not None:
        progress(None, "running the prompt")
    cap = capture(lm, enc.input_ids)
    step = chunk or chunk_size(t, h, a.d_model)
    attn: np.ndarray = np.zeros((n, t, t, h), dtype=np.float32)
    attn_resid: np.ndarray = np.zeros((n, t), dtype=np.float32)
    mlp: np.ndarray = np.zeros((n, t), dtype=np.float32)
    mlp_resid: np.ndarray = np.zeros((n, t), dtype=np.float32)
    with torch.inference_mode():
        for lay in range(n):
            for ch in attention_chunks(lm, cap, lay, step):
                parts, resid = _attention_shares(ch)
                attn[lay, ch.d0:ch.d1, :parts.shape[1]] = parts.cpu().numpy()
                attn_resid[lay, ch.d0:ch.d1] = resid.cpu().numpy()
            mid = mid_state(lm, lay, cap.resid[lay], cap.attn_out[lay])
            whole = mid + cap.mlp_out[lay]
            p = proximity(torch.stack([cap.mlp_out[lay], mid], dim=1), whole)  # (T, 2)
            p = p / p.sum(1, keepdim=True)
            mlp[lay], mlp_resid[lay] = p[:, 0].cpu().numpy(), p[:, 1].cpu().numpy()
            if progress is not None:
                progress((lay + 1) / n, f"layer {lay + 1} of {n} decomposed")
    kinds = [a.attn_layer_kind(lay) for lay in range(n)]
    return FlowContributions(lm.spec.name, enc.tokens, attn, attn_resid, mlp, mlp_resid,
                             tuple(k for k, _ in kinds), tuple(w for _, w in kinds), a.n_kv_heads,
                             frozen_note(lm))


def neuron_contributions(lm: LoadedModel, prompt: str, layer: int, position: int) -> NeuronContributions:
    """Each MLP neuron's share of the update at (layer, position), next to the residual's (and a bias's) share."""
    a = lm.adapter
    enc = lm.encode(prompt)
    t = len(enc.tokens)
    budgets().flow_tokens.check(t)
    choice("mlp").check_layer(layer, a.n_layers)
    if not -t <= position < t:
        raise UserError(f"Position {position} is out of range; the prompt has {t} tokens (0–{t - 1}).")
    pos = position % t
    with torch.inference_mode():
        np_ = neuron_parts(lm, enc.input_ids, layer, pos)
        has_bias = bool(np_.const.abs().max() > 0)
        extra = [np_.residual] + ([np_.const] if has_bias else [])
        p = proximity(torch.cat([np_.parts, torch.stack(extra)])[None], np_.whole[None])[0]  # (M + 1 [+ 1],)
        p = p / p.sum()
    m = np_.parts.shape[0]
    out = p.cpu().numpy()
    return NeuronContributions(lm.spec.name, enc.tokens, layer, pos, out[:m].astype(np.float32),
                               float(out[m]), float(out[m + 1]) if has_bias else 0.0, frozen_note(lm))
