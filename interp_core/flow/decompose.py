"""Split each block's update of the residual stream into parts whose vectors add up to it exactly.

Attention at destination d: one vector per (source s, head h), A[h, d, s] · v[s, kv(h)] · W_O[h] (grouped-query
attention: query head h reads key/value head h // (H / H_kv)); the output projection's bias is spread over the
parts in proportion to A / H (the weights of each head sum to one, so the spread adds up to the bias).
Sandwich norms (Gemma 2/3) normalise the block's output before it is added: the parts are split before that norm
and the norm is applied to each with its scale frozen at this run's value at d (1/rms of the whole block output),
so they still add up to exactly what was added. Post-norm encoders (BERT) are split before their add-&-LayerNorm:
the whole is the sum the LayerNorm receives; nothing is frozen, the norm itself is not split.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from interp_core.components.frozen_norm import FrozenRows, freeze_rows
from interp_core.engine.model import LoadedModel
from interp_core.engine.sites import Site

SITES = ("resid", "attn_out", "attn_heads", "attn_pattern", "attn_values", "mlp_out")


@dataclass(frozen=True)
class Captured:
    """One prompt's forward, batch row 0, every layer: what the decomposition reads (float32, model device)."""

    resid: list[torch.Tensor]  # per resid layer (T, D)
    attn_out: list[torch.Tensor]  # per layer (T, D) as added (after a sandwich norm; before BERT's add-&-norm)
    heads: list[torch.Tensor]  # per layer (T, H, Dh) entering the output projection
    pattern: list[torch.Tensor]  # per layer (H, T, T) post-softmax, query rows
    values: list[torch.Tensor]  # per layer (T, H_kv, Dh)
    mlp_out: list[torch.Tensor]  # per layer (T, D) as added


def capture(lm: LoadedModel, input_ids: torch.Tensor) -> Captured:
    """One hooked forward (eager attention, for the weights) capturing every site the decomposition needs."""
    n = lm.adapter.n_layers
    sites = [Site("resid", lay) for lay in range(n + 1)]
    sites += [Site(k, lay) for lay in range(n) for k in SITES[1:]]
    res = lm.run(input_ids, capture=sites, need_logits=False)
    c = {s: v[0].float() for s, v in res.cache.items()}
    return Captured([c[Site("resid", lay)] for lay in range(n + 1)],
                    *([c[Site(k, lay)] for lay in range(n)] for k in SITES[1:]))


def linear_map(module: torch.nn.Module, d_in: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(W (d_in, d_out), b (d_out,)) float32 of an affine module: nn.Linear's own weight, anything else (GPT-2's
    Conv1D) read by applying it to the identity."""
    dtype = next(module.parameters()).dtype
    with torch.inference_mode():
        if isinstance(module, torch.nn.Linear):
            w = module.weight.detach().to(device).float().T
            b = (module.bias.detach().to(device).float() if module.bias is not None
                 else torch.zeros(w.shape[1], device=device))
            return w, b
        b = module(torch.zeros(1, d_in, dtype=dtype, device=device)).float()[0]
        w = module(torch.eye(d_in, dtype=dtype, device=device)).float() - b
    return w, b


def kv_index(lm: LoadedModel) -> torch.Tensor:
    """(H,) the key/value head each query head reads."""
    a = lm.adapter
    return torch.arange(a.n_heads) // (a.n_heads // a.n_kv_heads)


@dataclass(frozen=True)
class AttentionLayer:
    """What every destination chunk of one layer shares: each (source, head)'s vector before A is applied."""

    vo: torch.Tensor  # (T, H, D) v[s, kv(h)] · W_O[h], through a post norm's gain (and centring), not its scale
    const: torch.Tensor | None  # (T, D) the constant added at each destination (bias, after the frozen norm); None: 0
    scale: torch.Tensor | None  # (T,) a post norm's frozen 1/rms (1/σ) at each destination, applied to A
    causal: bool


def attention_layer(lm: LoadedModel, cap: Captured, layer: int) -> AttentionLayer:
    a = lm.adapter
    h, dh = a.n_heads, a.d_head
    dev = cap.values[layer].device
    w, b = linear_map(a.attn_o_proj(layer), h * dh, dev)  # (H*Dh, D), (D,)
    w = w.view(h, dh, -1)
    v = cap.values[layer][:, kv_index(lm).to(dev)]  # (T, H, Dh)
    vo = torch.einsum("thk,hkd->thd", v, w)  # (T, H, D)
    t = vo.shape[0]
    scale = None
    const = b.expand(t, -1)
    norm = a.attn_post_norm(layer)
    if norm is not None:
        with torch.inference_mode():
            before = (cap.heads[layer].reshape(t, h * dh) @ w.view(h * dh, -1)) + b  # (T, D) block output pre-norm
        post = freeze_rows(norm, before)
        const = post.apply(const) + post.bias
        # the frozen norm is linear: its gain (and centring) go into every source's vector once, its scale at
        # destination d into the attention weights, so a chunk's parts cost one pass over (c, S, H, D)
        vo = FrozenRows(post.gain, post.bias, torch.ones(t, device=vo.device), post.centred).apply(vo)
        scale = post.scale
    causal = a.attn_layer_kind(layer)[0] != "bidirectional"
    return AttentionLayer(vo, const if bool(const.abs().max() > 0) else None, scale, causal)


@dataclass(frozen=True)
class AttentionChunk:
    """Destinations d0..d1-1 of one layer: the parts and the whole they add up to."""

    d0: int
    d1: int
    weights: torch.Tensor  # (c, S, H) attention weights of each part (0: masked, not a part)
    parts: torch.Tensor  # (c, S, H, D) each (source, head)'s vector as added at the destination
    residual: torch.Tensor  # (c, D) the residual stream before the block
    whole: torch.Tensor  # (c, D) residual + the block's update (before a post-norm block's LayerNorm)


def attention_chunks(lm: LoadedModel, cap: Captured, layer: int, chunk: int) -> Iterator[AttentionChunk]:
    """The decomposition of `layer`, `chunk` destinations at a time: (c, S, H, D) is the largest tensor held."""
    al = attention_layer(lm, cap, layer)
    t, h = al.vo.shape[0], al.vo.shape[1]
    resid = cap.resid[layer]
    for d0 in range(0, t, chunk):
        d1 = min(t, d0 + chunk)
        s = d1 if al.causal else t  # a causal destination reads no later source
        weights = cap.pattern[layer][:, d0:d1, :s].permute(1, 2, 0)  # (c, S, H)
        scaled = weights if al.scale is None else weights * al.scale[d0:d1, None, None]
        parts = scaled[..., None] * al.vo[None, :s]  # (c, S, H, D)
        if al.const is not None:
            parts += (weights / h)[..., None] * al.const[d0:d1, None, None, :]
        whole = resid[d0:d1] + cap.attn_out[layer][d0:d1]
        yield AttentionChunk(d0, d1, weights, parts, resid[d0:d1], whole)


def mid_state(lm: LoadedModel, layer: int, resid: torch.Tensor, attn_out: torch.Tensor) -> torch.Tensor:
    """(T, D) the residual stream between the attention and the MLP (after a post-norm block's first LayerNorm)."""
    summed = resid + attn_out
    norm = lm.adapter.post_add_norms(layer)[0]
    if norm is None:
        return summed
    with torch.inference_mode():
        return norm(summed.to(next(norm.parameters()).dtype)).float()


@dataclass(frozen=True)
class NeuronParts:
    """One (layer, position)'s MLP update split per neuron (M, D), its constant term and the residual."""

    parts: torch.Tensor  # (M, D) each neuron's activation times its output vector (after a frozen post norm)
    const: torch.Tensor  # (D,) the down projection's bias (after the frozen norm) plus the norm's bias
    residual: torch.Tensor  # (D,) the stream before the MLP
    whole: torch.Tensor  # (D,) residual + the MLP's update (before a post-norm block's LayerNorm)


def neuron_parts(lm: LoadedModel, input_ids: torch.Tensor, layer: int, position: int,
                 chunk: int = 1024) -> NeuronParts:
    """Every neuron's part of the MLP update at (layer, position), from one forward stopped after the block."""
    a = lm.adapter
    sites = [Site("resid", layer), Site("attn_out", layer), Site("mlp_neurons", layer), Site("mlp_out", layer)]
    res = lm.run(input_ids, capture=sites, need_logits=False)
    c = {s: v[0].float() for s, v in res.cache.items()}
    acts = c[Site("mlp_neurons", layer)][position]  # (M,)
    down = a.mlp_down_proj(layer)
    dtype = next(down.parameters()).dtype
    m, dev = acts.shape[0], acts.device
    with torch.inference_mode():
        bias = down(torch.zeros(1, m, dtype=dtype, device=dev)).float()[0]
        rows = []
        for i in range(0, m, chunk):  # (chunk, M) diagonal slices: never an (M, M) matrix
            j = min(m, i + chunk)
            diag = torch.zeros(j - i, m, dtype=dtype, device=dev)
            diag[torch.arange(j - i), torch.arange(i, j)] = acts[i:j].to(dtype)
            rows.append(down(diag).float() - bias)
        parts = torch.cat(rows)  # (M, D)
        const = bias
        norm = a.mlp_post_norm(layer)
        if norm is not None:
            post = freeze_rows(norm, (parts.sum(0) + bias)[None])
            parts = post.apply(parts[None])[0]
            const = post.apply(bias[None])[0] + post.bias
    mid = mid_state(lm, layer, c[Site("resid", layer)][position], c[Site("attn_out", layer)][position])
    return NeuronParts(parts, const, mid, mid + c[Site("mlp_out", layer)][position])
