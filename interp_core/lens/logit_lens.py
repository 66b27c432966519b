"""Logit lens: decode every layer's residual stream into vocabulary predictions ("at which layer does
the model know?").

Methods
- final-norm (decoders; "auto"): each hidden state through the final norm and the unembedding, exactly
  as the model decodes its last one, so the last layer's lens equals the model's own logits.
- full-head (BERT masked LM; "auto"): each hidden state through the whole MLM head `cls.predictions`
  (dense, GELU, LayerNorm, decoder).
- dot-product (comparison, any model with an LM head): the naive `h @ W_U.T` with the decoder weights
  alone (no norm, no transform, no bias). For BERT this is the method that reads out nonsense in middle
  layers; for decoders it shows what skipping the final norm does.
Models without an LM head (e.g. MiniLM) have nothing to decode into: a UserError says so.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from interp_core.budgets import budgets
from interp_core.engine.placement import module_device
from interp_core.engine.scheduler import scheduled
from interp_core.errors import UserError
from interp_core.lens.decode import LensHead, TargetRequest, decode_stats
from interp_core.lens.trajectory import require_mask
from interp_core.results import Progress
from interp_core.engine.sites import Site, layer_label, n_site_layers
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

METHODS = ("auto", "final-norm", "full-head", "dot-product")
METHOD_HELP = {
    "auto": "the model's own head: final-norm for decoders, full-head for BERT",
    "final-norm": "decoders: final norm + unembedding (the last layer equals the model's logits)",
    "full-head": "BERT: the whole MLM head (dense, GELU, LayerNorm, decoder)",
    "dot-product": "naive comparison: hidden state · decoder weights, no norm or transform",
}
MAX_TOP_K = 50


@dataclass(frozen=True, eq=False)
class LensTarget:
    """One target token per position, tracked at every layer; S = hidden states, T = positions."""

    token: str | None  # the token asked for; None = each position's final prediction
    token_ids: np.ndarray  # (T,) int64
    tokens: tuple[str, ...]  # (T,)
    logit: np.ndarray  # (S, T) float32
    prob: np.ndarray  # (S, T) float32
    zscore: np.ndarray  # (S, T) float32: (logit - mean logit) / std of logits over the vocabulary
    rank: np.ndarray  # (S, T) int64, 1 = top-1


@dataclass(frozen=True, eq=False)
class LensResult:
    """The lens of one prompt: top-k per (layer, position), z of the top-1, a target's trajectory."""

    model: str
    method: str  # resolved: final-norm, full-head or dot-product
    masked_lm: bool
    tokens: tuple[str, ...]  # (T,) prompt tokens, special tokens included
    input_ids: np.ndarray  # (T,) int64
    layers: tuple[int, ...]  # (S,) 0 = embeddings (block-0 input), l = output of block l-1
    top_ids: np.ndarray  # (S, T, K) int64
    top_probs: np.ndarray  # (S, T, K) float32
    top_logits: np.ndarray  # (S, T, K) float32
    zscore: np.ndarray  # (S, T) float32, z-score of each cell's top-1
    target: LensTarget
    next_zscore: np.ndarray | None  # (S, T) z of the actual next token (decoders; NaN at the last position)
    mask_positions: tuple[int, ...]  # positions holding the mask token (masked LMs)
    token_text: dict[int, str]  # id -> readable string for every id above
    # Kept from the one forward pass + decode so a new target needs neither again (lens/retarget.py):
    hidden: torch.Tensor | None = None  # (S, T, D) float32 on the CPU, every hidden state
    lse: np.ndarray | None = None  # (S, T) log-sum-exp of each cell's logits
    logit_mean: np.ndarray | None = None  # (S, T) mean logit over the vocabulary
    logit_std: np.ndarray | None = None  # (S, T) std of the logits over the vocabulary
    rank_exact: np.ndarray | None = None  # (S, T) bool: False where target.rank is only a lower bound (retarget)

    @property
    def top_k(self) -> int:
        return int(self.top_ids.shape[-1])

    def layer_labels(self) -> list[str]:
        return [layer_label("resid", layer) for layer in self.layers]

    def top_tokens(self, layer_index: int, position: int, k: int | None = None) -> list[str]:
        ids = self.top_ids[layer_index, position, : k or self.top_k]
        return [self.token_text[int(i)] for i in ids]

    def frame(self, top_k: int | None = None):
        """One row per (layer, position): the input token, top-1, its z, the target's stats and the top-k list."""
        import pandas as pd

        k = top_k or self.top_k
        rows = []
        for si, layer in enumerate(self.layers):
            for p, tok in enumerate(self.tokens):
                top = self.top_tokens(si, p, k)
                rows.append({
                    "layer": layer, "position": p, "input_token": tok, "top1_token": top[0],
                    "top1_prob": float(self.top_probs[si, p, 0]), "top1_logit": float(self.top_logits[si, p, 0]),
                    "top1_zscore": float(self.zscore[si, p]), "target_token": self.target.tokens[p],
                    "target_prob": float(self.target.prob[si, p]), "target_rank": int(self.target.rank[si, p]),
                    "target_zscore": float(self.target.zscore[si, p]),
                    "topk": " | ".join(f"{t!r}:{pr:.4f}" for t, pr in zip(top, self.top_probs[si, p, :k].tolist())),
                })
        return pd.DataFrame(rows)

    def to_dict(self, top_k: int | None = None) -> dict:
        """The headless shape: tokens, layers, top[layer][position], zscore[layer][position], target stats."""
        k = top_k or self.top_k
        top = [[[{"token": self.token_text[int(i)], "prob": float(pr), "logit": float(lg)}
                 for i, pr, lg in zip(self.top_ids[si, p, :k], self.top_probs[si, p, :k], self.top_logits[si, p, :k])]
                for p in range(len(self.tokens))] for si in range(len(self.layers))]
        t = self.target
        return {
            "model": self.model, "method": self.method, "tokens": list(self.tokens), "layers": list(self.layers),
            "top": top, "zscore": self.zscore.tolist(),
            "target": {"token": t.token, "tokens": list(t.tokens), "prob": t.prob.tolist(), "rank": t.rank.tolist(),
                       "zscore": t.zscore.tolist()},
        }


def resolve_method(lm: LoadedModel, method: str = "auto") -> str:
    """'auto' -> the model's own head; refuse methods that do not fit the model, and models with no head."""
    info = lm.info
    if not info.has_lm_head:
        raise UserError(f"{info.name} has no LM head (it is an encoder without a prediction head), so there is "
                        "nothing to decode its hidden states into; pick a model with an LM head, e.g. gemma-3-270m.")
    if method not in METHODS:
        raise UserError(f"Unknown lens method '{method}'; choose one of {', '.join(METHODS)}.")
    if method == "auto":
        return "full-head" if info.masked_lm else "final-norm"
    if method == "full-head" and not info.masked_lm:
        raise UserError("'full-head' is the BERT masked-LM method; for this decoder use final-norm (or dot-product).")
    if method == "final-norm" and info.masked_lm:
        raise UserError("BERT has no final norm before its head; use full-head (or dot-product).")
    return method


def lens_head(lm: LoadedModel, method: str) -> LensHead:
    """Split the chosen decoder into pre-map, linear unembedding and elementwise finish."""
    adapter = lm.adapter
    method = resolve_method(lm, method)
    finish = adapter.finish_logits
    linear = adapter.finish_is_identity()
    if method == "dot-product":
        return LensHead(lambda h: h, adapter.unembed_matrix(), None, lambda x: x, linear=True)
    head = adapter.unembed_module()
    assert head is not None  # resolve_method refused models without an LM head
    if method == "full-head":  # BertLMPredictionHead: transform (dense, GELU, LayerNorm) then decoder
        return LensHead(head.transform, head.decoder.weight, head.decoder.bias, finish, linear)
    norm = adapter.final_norm_module()
    return LensHead(norm if norm is not None else (lambda h: h), head.weight, getattr(head, "bias", None), finish,
                    linear)


def hidden_states(lm: LoadedModel, input_ids: torch.Tensor) -> torch.Tensor:
    """Every hidden state of one forward pass: (S, B, T, D), S = n_layers + 1, embeddings first."""
    sites = [Site("resid", layer) for layer in range(n_site_layers("resid", lm.adapter.n_layers))]
    res = lm.run(input_ids, capture=sites, need_logits=False)
    head = lm.adapter.unembed_module()
    dev = module_device(head if head is not None else lm.adapter.final_norm_module(), lm.device)
    return torch.stack([res.cache[s].to(dev) for s in sites])  # split models: gathered where decoding happens


def _mask_positions(lm: LoadedModel, ids: list[int]) -> tuple[int, ...]:
    mask_id = getattr(lm.tokenizer, "mask_token_id", None)
    return tuple(i for i, t in enumerate(ids) if mask_id is not None and t == mask_id)


@scheduled("short")
def compute_lens(lm: LoadedModel, prompt: str, method: str = "auto", top_k: int = 10, target: str | None = None,
                 progress: Progress | None = None) -> LensResult:
    """Decode every hidden state of `prompt` at every position.

    target: a single token (with its leading space, e.g. ' Paris') tracked at every cell; None tracks each
    position's final prediction. For masked LMs a target needs a [MASK] in the prompt.
    """
    method = resolve_method(lm, method)
    if not 1 <= int(top_k) <= MAX_TOP_K:
        raise UserError(f"top-k must be between 1 and {MAX_TOP_K}.")
    enc = lm.encode(prompt)
    budgets().lens_tokens.check(len(enc.tokens))
    ids = enc.input_ids[0].tolist()
    masks = _mask_positions(lm, ids) if lm.info.masked_lm else ()
    target_id = None
    if target is not None and target != "":
        target_id = lm.token_id(target)
        if lm.info.masked_lm:
            require_mask(masks, "A target token")
    head = lens_head(lm, method)
    if progress is not None:
        progress(0.0, "Running the model")
    hidden = hidden_states(lm, enc.input_ids)[:, 0]  # (S, T, D)
    n_states, n_pos, _ = hidden.shape
    rows = hidden.reshape(n_states * n_pos, -1)  # (S*T, D), row = layer * T + position
    ids_t = torch.tensor(ids, dtype=torch.long)
    decoder = not lm.info.masked_lm
    next_ids = torch.cat([ids_t[1:], ids_t[-1:]]) if decoder else None  # (T,), last one is a placeholder

    def per_row(per_pos: torch.Tensor, layers: int) -> torch.Tensor:
        return per_pos.repeat(layers)  # (T,) -> (layers*T,)

    if target_id is not None:
        reqs = [TargetRequest(torch.full((n_states * n_pos,), target_id, dtype=torch.long))]
        if decoder:
            reqs.append(TargetRequest(per_row(next_ids, n_states), rank=False))
        st = decode_stats(head, rows, top_k, reqs, progress, (0.05, 1.0))
        tgt_ids_pos = torch.full((n_pos,), target_id, dtype=torch.long)
        t_logit, t_rank = st.target_logits[0], st.target_ranks[0]
        assert t_rank is not None  # asked for (rank=True)
        top_v, top_i, lse, mean, std = st.top_vals, st.top_ids, st.lse, st.mean, st.std
        next_logit = st.target_logits[1] if decoder else None
    else:
        # The default target is each position's final prediction: decode the last layer first.
        last = rows[(n_states - 1) * n_pos:]
        reqs_last = [TargetRequest(next_ids, rank=False)] if decoder else []
        frac = 0.05 + 0.95 / n_states
        st_last = decode_stats(head, last, top_k, reqs_last, progress, (0.05, frac), "Decoding the last layer")
        tgt_ids_pos = st_last.top_ids[:, 0].clone()  # (T,)
        reqs = [TargetRequest(per_row(tgt_ids_pos, n_states - 1))]
        if decoder:
            reqs.append(TargetRequest(per_row(next_ids, n_states - 1), rank=False))
        st = decode_stats(head, rows[: (n_states - 1) * n_pos], top_k, reqs, progress, (frac, 1.0))
        top_v = torch.cat([st.top_vals, st_last.top_vals])
        top_i = torch.cat([st.top_ids, st_last.top_ids])
        lse = torch.cat([st.lse, st_last.lse])
        mean = torch.cat([st.mean, st_last.mean])
        std = torch.cat([st.std, st_last.std])
        t_logit = torch.cat([st.target_logits[0], st_last.top_vals[:, 0]])
        t_rank = torch.cat([st.target_ranks[0], torch.ones(n_pos, dtype=torch.long)])
        next_logit = torch.cat([st.target_logits[1], st_last.target_logits[0]]) if decoder else None

    shape = (n_states, n_pos)
    std_c = std.clamp_min(1e-12)
    z_top = ((top_v[:, 0] - mean) / std_c).reshape(shape)
    t_z = ((t_logit - mean) / std_c).reshape(shape)
    t_prob = torch.exp(t_logit - lse).reshape(shape)
    next_z = None
    if decoder:
        next_z = ((next_logit - mean) / std_c).reshape(shape).numpy().astype(np.float32)
        next_z[:, -1] = np.nan
    top_probs = torch.exp(top_v - lse.unsqueeze(-1))
    k = top_i.shape[-1]
    all_ids = set(top_i.flatten().tolist()) | set(tgt_ids_pos.tolist()) | set(ids)
    id_list = sorted(all_ids)
    token_text = dict(zip(id_list, lm.token_strings(id_list)))
    if progress is not None:
        progress(1.0, "Done")
    return LensResult(
        model=lm.spec.name, method=method, masked_lm=lm.info.masked_lm, tokens=enc.tokens,
        input_ids=np.asarray(ids, dtype=np.int64), layers=tuple(range(n_states)),
        top_ids=top_i.reshape(*shape, k).numpy(), top_probs=top_probs.reshape(*shape, k).numpy().astype(np.float32),
        top_logits=top_v.reshape(*shape, k).numpy().astype(np.float32), zscore=z_top.numpy().astype(np.float32),
        target=LensTarget(
            token=target if target_id is not None else None, token_ids=tgt_ids_pos.numpy(),
            tokens=tuple(token_text[int(i)] for i in tgt_ids_pos.tolist()),
            logit=t_logit.reshape(shape).numpy().astype(np.float32), prob=t_prob.numpy().astype(np.float32),
            zscore=t_z.numpy().astype(np.float32), rank=t_rank.reshape(shape).numpy().astype(np.int64)),
        next_zscore=next_z, mask_positions=masks, token_text=token_text,
        hidden=hidden.detach().float().cpu(), lse=lse.reshape(shape).numpy().astype(np.float32),
        logit_mean=mean.reshape(shape).numpy().astype(np.float32), logit_std=std.reshape(shape).numpy().astype(np.float32),
    )
