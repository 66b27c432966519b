"""Attention patterns: every layer's post-softmax weights for one prompt, captured at the canonical
`attn_pattern` site of the same hooked forward as every other method (eager attention for that pass)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from interp_core.budgets import budgets
from interp_core.engine.model import LoadedModel
from interp_core.engine.sites import Site
from interp_core.errors import UserError
from interp_core.results import Progress

PATTERN_COLUMNS = ["layer", "head", "query", "key", "query_token", "key_token", "weight"]


@dataclass(frozen=True)
class AttentionPatterns:
    """Patterns (L, H, T, T) float32 of the chosen layers (query rows, key columns) and how each layer masks."""

    model: str
    tokens: tuple[str, ...]
    layers: tuple[int, ...]  # model layer index of each slice of `patterns`
    patterns: np.ndarray  # (len(layers), H, T, T)
    kinds: tuple[str, ...]  # per layer: 'global' (causal), 'sliding' (causal, last `window` keys), 'bidirectional'
    windows: tuple[int | None, ...]
    n_kv_heads: int  # < n_heads under grouped-query attention: query heads share key/value heads in groups

    @property
    def n_heads(self) -> int:
        return int(self.patterns.shape[1])

    def kv_group(self, head: int) -> int:
        """The key/value head that a query head reads (GQA); equals `head` without sharing."""
        return head // max(1, self.n_heads // max(1, self.n_kv_heads))

    def pattern(self, layer: int, head: int) -> np.ndarray:
        """(T, T) weights of one head; query rows, key columns."""
        if layer not in self.layers:
            raise UserError(f"Layer {layer} was not captured; choose one of {', '.join(map(str, self.layers))}.")
        if not 0 <= head < self.n_heads:
            raise UserError(f"Head {head} is out of range; this model has heads 0–{self.n_heads - 1}.")
        return self.patterns[self.layers.index(layer), head]

    def layer_label(self, layer: int) -> str:
        i = self.layers.index(layer)
        kind, w = self.kinds[i], self.windows[i]
        return f"L{layer} sliding window {w}" if kind == "sliding" else f"L{layer} {kind}"

    def allowed(self, layer: int) -> np.ndarray:
        """(T, T) bool: the keys each query may attend to under this layer's mask (causal / window / all)."""
        i = self.layers.index(layer)
        t = len(self.tokens)
        q, k = np.arange(t)[:, None], np.arange(t)[None, :]
        if self.kinds[i] == "bidirectional":
            return np.ones((t, t), dtype=bool)
        ok = k <= q
        window = self.windows[i]
        if self.kinds[i] == "sliding" and window is not None:  # a sliding layer always has its window
            ok &= q - k < int(window)
        return ok

    def frame(self, layer: int | None = None, head: int | None = None) -> pd.DataFrame:
        """PATTERN_COLUMNS, one row per (layer, head, query, key) with a non-zero weight."""
        rows = []
        for i, lay in enumerate(self.layers):
            if layer is not None and lay != layer:
                continue
            for h in range(self.n_heads):
                if head is not None and h != head:
                    continue
                q, k = np.nonzero(self.patterns[i, h])
                rows.append(pd.DataFrame({"layer": lay, "head": h, "query": q, "key": k,
                                          "query_token": [self.tokens[j] for j in q],
                                          "key_token": [self.tokens[j] for j in k],
                                          "weight": self.patterns[i, h][q, k].astype(float)}))
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=PATTERN_COLUMNS)

    def to_dict(self, layer: int | None = None, head: int | None = None) -> dict:
        keep = [i for i, lay in enumerate(self.layers) if layer is None or lay == layer]
        heads = range(self.n_heads) if head is None else [head]
        return {"model": self.model, "tokens": list(self.tokens), "n_heads": self.n_heads,
                "n_kv_heads": self.n_kv_heads,
                "layers": [{"layer": self.layers[i], "kind": self.kinds[i], "window": self.windows[i],
                            "heads": [{"head": h, "kv_group": self.kv_group(h),
                                       "pattern": np.round(self.patterns[i, h], 6).tolist()} for h in heads]}
                           for i in keep]}


def attention_patterns(lm: LoadedModel, prompt: str, *, layers: Iterable[int] | None = None,
                       progress: Progress | None = None) -> AttentionPatterns:
    """Every (or the given) layer's attention patterns for one prompt, from one hooked forward."""
    a = lm.adapter
    enc = lm.encode(prompt)
    budgets().attention_tokens.check(len(enc.tokens))
    chosen = tuple(range(a.n_layers)) if layers is None else tuple(dict.fromkeys(int(x) for x in layers))
    sites = [Site("attn_pattern", lay) for lay in chosen]
    for s in sites:
        a.check_site(s)  # a clear UserError for a layer this model does not have
    if progress is not None:
        progress(None, "running the prompt")
    res = lm.run(enc.input_ids, capture=sites, need_logits=False)
    pats = np.stack([res.cache[s][0].float().cpu().numpy() for s in sites])  # (L, H, T, T)
    kinds = [a.attn_layer_kind(lay) for lay in chosen]
    n_kv = int(getattr(lm.model.config, "num_key_value_heads", None) or a.n_heads)
    return AttentionPatterns(lm.spec.name, enc.tokens, chosen, pats, tuple(k for k, _ in kinds),
                             tuple(w for _, w in kinds), n_kv)
