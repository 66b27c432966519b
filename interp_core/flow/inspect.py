"""What a clicked part of the flow graph says in tokens: a residual state decoded by the logit lens with what the
block that produced it promoted and suppressed (the lens logits after minus before it), and the tokens one
attention head's output at a destination promotes and suppresses through the frozen final norm and unembedding."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from interp_core.budgets import budgets
from interp_core.components.frozen_norm import freeze, freeze_rows
from interp_core.engine.model import LoadedModel
from interp_core.engine.placement import module_device
from interp_core.engine.sites import Site, choice
from interp_core.errors import UserError
from interp_core.flow.decompose import kv_index, linear_map, mid_state

TOKEN_COLUMNS = ["list", "rank", "token", "token_id", "value"]


@dataclass(frozen=True)
class TokenLists:
    """Ranked token lists ('top' / 'promotes' / 'suppresses') about one part of the graph."""

    model: str
    title: str
    table: pd.DataFrame  # TOKEN_COLUMNS
    note: str

    def ranked(self, which: str) -> pd.DataFrame:
        t = self.table
        return t[t["list"] == which][["rank", "token", "token_id", "value"]].reset_index(drop=True)

    def frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict:
        out: dict = {"model": self.model, "title": self.title, "note": self.note}
        for which in dict.fromkeys(self.table["list"]):
            out[str(which)] = self.ranked(str(which)).to_dict("records")
        return out


def _lists(lm: LoadedModel, named: dict[str, tuple[np.ndarray, bool]], k: int) -> pd.DataFrame:
    """named: list name -> (values over the vocabulary, descending?) -> the k best of each."""
    frames = []
    for name, (vals, desc) in named.items():
        idx = np.argpartition(-vals if desc else vals, k - 1)[:k]
        idx = idx[np.argsort(-vals[idx] if desc else vals[idx], kind="stable")]
        frames.append(pd.DataFrame({"list": name, "rank": np.arange(1, k + 1), "token": lm.token_strings(idx.tolist()),
                                    "token_id": idx.astype(int), "value": vals[idx].astype(float)}))
    return pd.concat(frames, ignore_index=True)


def _check(lm: LoadedModel, prompt: str, layer: int, position: int, top_layer: int) -> tuple[torch.Tensor, int]:
    a = lm.adapter
    if not a.has_lm_head:
        raise UserError("This model has no LM head, so its states cannot be read as tokens; the graph still stands.")
    enc = lm.encode(prompt)
    t = len(enc.tokens)
    budgets().flow_tokens.check(t)
    if not 0 <= layer <= top_layer:
        raise UserError(f"Layer {layer} is out of range; choose 0–{top_layer}.")
    if not -t <= position < t:
        raise UserError(f"Position {position} is out of range; the prompt has {t} tokens (0–{t - 1}).")
    return enc.input_ids, position % t


def node_tokens(lm: LoadedModel, prompt: str, kind: str, layer: int, position: int, k: int = 10) -> TokenLists:
    """kind 'resid': the state entering block `layer` (n_layers: the last), produced by MLP layer-1 (the embedding
    for layer 0); kind 'mid': the state after attention `layer`. Its lens top-k, and what the producing block
    promoted and suppressed: lens logits after minus before that block."""
    a = lm.adapter
    n = a.n_layers
    if kind not in ("resid", "mid"):
        raise UserError(f"Unknown node kind '{kind}'; choose resid or mid.")
    ids, pos = _check(lm, prompt, layer, position, n if kind == "resid" else n - 1)
    block = layer if kind == "mid" else layer - 1  # the block whose attention (mid) or MLP (resid) made this state
    sites = [Site("resid", layer)] + ([Site("resid", block), Site("attn_out", block)] if block >= 0 else [])
    res = lm.run(ids, capture=sites, need_logits=False)
    c = {s: v[0].float() for s, v in res.cache.items()}
    with torch.inference_mode():
        if kind == "mid":
            before = c[Site("resid", layer)][pos]
            after = mid_state(lm, layer, c[Site("resid", layer)][pos:pos + 1], c[Site("attn_out", layer)][pos:pos + 1])[0]
        elif block < 0:
            before, after = None, c[Site("resid", 0)][pos]
        else:
            before = mid_state(lm, block, c[Site("resid", block)][pos:pos + 1],
                               c[Site("attn_out", block)][pos:pos + 1])[0]
            after = c[Site("resid", layer)][pos]
        rows = torch.stack([after] + ([before] if before is not None else []))
        logits = a.decode_resid(rows).float().cpu().numpy()  # (1 or 2, V)
    named = {"top": (logits[0], True)}
    if before is not None:
        diff = logits[0] - logits[1]
        named |= {"promotes": (diff, True), "suppresses": (diff, False)}
    what = "attention" if kind == "mid" else "MLP"
    where = f"after attention {layer}" if kind == "mid" else ("embeddings" if layer == 0 else f"entering layer {layer}")
    title = f"residual {where} at position {pos} ({lm.token_strings([int(ids[0, pos])])[0]!r})"
    note = ("top: this state decoded by the logit lens (logits); promotes / suppresses: the lens logits after minus "
            f"before the {what} {block}" if before is not None else "top: the embedding decoded by the logit lens")
    return TokenLists(lm.spec.name, title, _lists(lm, named, k), note)


def head_tokens(lm: LoadedModel, prompt: str, layer: int, head: int, destination: int, k: int = 10) -> TokenLists:
    """The tokens head (layer, head)'s output at `destination` promotes and suppresses directly: its vector (after a
    sandwich norm frozen at this run) through the final norm frozen at the last state, then the unembedding."""
    a = lm.adapter
    if a.masked_lm or a.final_norm_module() is None:
        raise UserError("A head's direct effect on the tokens needs a decoder with a final norm; this model has none.")
    if not 0 <= head < a.n_heads:
        raise UserError(f"Head {head} is out of range; this model has heads 0–{a.n_heads - 1}.")
    ids, pos = _check(lm, prompt, layer, destination, choice("head").top_layer(a.n_layers) or 0)
    sites = [Site("attn_heads", layer), Site("resid", a.n_layers)]
    res = lm.run(ids, capture=sites, need_logits=False)
    z = res.cache[Site("attn_heads", layer)][0, pos].float()  # (H, Dh)
    final = res.cache[Site("resid", a.n_layers)][0, pos].float()
    with torch.inference_mode():
        w, b = linear_map(a.attn_o_proj(layer), a.n_heads * a.d_head, z.device)
        w = w.view(a.n_heads, a.d_head, -1)
        vec = z[head] @ w[head]  # (D,)
        post = a.attn_post_norm(layer)
        if post is not None:
            vec = freeze_rows(post, (torch.einsum("hk,hkd->d", z, w) + b)[None]).apply(vec[None])[0]
        fn = freeze(a.final_norm_module(), final)
        w_u = a.unembed_matrix()
        v = fn.apply(vec.to(module_device(a.unembed_module()))).to(w_u.dtype)
        vals = (w_u @ v).float().cpu().numpy()  # (V,)
    named = {"promotes": (vals, True), "suppresses": (vals, False)}
    group = a.n_heads // a.n_kv_heads
    title = f"layer {layer} head {head} (key/value head {int(kv_index(lm)[head])}, {group} per group) at {pos}"
    note = ("direct effect on the logits: the head's output here, through the final norm with its scale frozen at "
            "this position's last state, then the unembedding")
    return TokenLists(lm.spec.name, title, _lists(lm, named, k), note)
