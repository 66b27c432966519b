"""Per-dimension statistics (mean, median, std) of a site over a reference corpus, cached on disk.

Mean / median ablation and σ-scaled noise need them. They are computed over up to `budget` tokens of
the corpus (special tokens such as BOS / [CLS] / [SEP] are left out: their activations are outliers),
and cached under cache_dir/refstats keyed by model identity + corpus hash + site + budget.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import torch

from interp_core.errors import UserError
from interp_core.results import atomic_write
from interp_core.engine.integrity import model_identity
from interp_core.settings import load_settings
from interp_core.engine.sites import Site
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

DEFAULT_BUDGET = 2000  # tokens
CHUNK_CHARS = 1000  # text per forward pass
CHUNK_TOKENS = 256
_VERSION = 1


@dataclass(frozen=True, eq=False)
class RefStats:
    """Statistics of one site; tensors have the site's feature shape: (D,), (H, Dh) or (M,)."""

    model: str  # integrity.model_identity of the model they came from
    site: Site
    corpus: str  # corpus name
    corpus_sha256: str
    n_tokens: int
    mean: torch.Tensor
    median: torch.Tensor
    std: torch.Tensor


def text_chunks(text: str, size: int = CHUNK_CHARS) -> Iterator[str]:
    """Successive pieces of about `size` characters, cut after a newline or space when one is near."""
    i, n = 0, len(text)
    while i < n:
        j = min(n, i + size)
        if j < n:
            cut = max(text.rfind("\n", i + size // 2, j), text.rfind(" ", i + size // 2, j))
            if cut > i:
                j = cut + 1
        piece = text[i:j]
        i = j
        if piece.strip():
            yield piece


def _key(lm: LoadedModel, corpus, site: Site, budget: int) -> str:
    raw = json.dumps([_VERSION, model_identity(lm), corpus.sha256, str(site), int(budget)])
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def _load(path, lm: LoadedModel, corpus, site) -> RefStats | None:
    try:
        d = torch.load(path, weights_only=True, map_location="cpu")
        return RefStats(model_identity(lm), site, corpus.name, corpus.sha256, int(d["n_tokens"]),
                        d["mean"], d["median"], d["std"])
    except (OSError, KeyError, RuntimeError, EOFError, ValueError):
        return None  # missing or damaged: recompute


def _save(path, st: RefStats) -> None:
    atomic_write(path, lambda tmp: torch.save(
        {"n_tokens": st.n_tokens, "mean": st.mean, "median": st.median, "std": st.std}, tmp))


def reference_stats(lm: LoadedModel, corpus, sites: Iterable[Site], *, budget: int = DEFAULT_BUDGET, use_cache: bool = True,
                    progress: Callable[[float, str], None] | None = None) -> dict[Site, RefStats]:
    """Statistics of every site in `sites` over the first `budget` non-special tokens of `corpus` (one pass)."""
    if corpus is None:
        raise UserError("Mean, median and noise ablation need a reference corpus; choose one.")
    if budget < 1:
        raise UserError("The reference token budget must be at least 1.")
    sites = list(dict.fromkeys(sites))
    root = load_settings().cache_dir / "refstats"
    out: dict[Site, RefStats] = {}
    for s in sites:
        got = _load(root / f"{_key(lm, corpus, s, budget)}.pt", lm, corpus, s) if use_cache else None
        if got is not None:
            out[s] = got
    todo = [s for s in sites if s not in out]
    if not todo:
        return out
    for s in todo:
        lm.adapter.check_site(s)
    special = torch.tensor(sorted(set(lm.tokenizer.all_special_ids)), dtype=torch.long)
    parts: dict[Site, list[torch.Tensor]] = {s: [] for s in todo}
    n = 0
    for piece in text_chunks(corpus.text):
        ids = lm.encode(piece, truncate=True).input_ids[:, :CHUNK_TOKENS]  # (1, T)
        keep = ~torch.isin(ids[0].cpu(), special)  # (T,)
        left = budget - n
        if keep.sum() > left:  # stop at the budget
            keep &= torch.cumsum(keep.long(), 0) <= left
        if not keep.any():
            continue
        r = lm.run(ids, capture=todo, need_logits=False)
        for s in todo:
            parts[s].append(r.cache[s][0].float().cpu()[keep])  # (k, *F)
        n += int(keep.sum())
        if progress is not None:
            progress(min(1.0, n / budget), f"Reference statistics: {n:,}/{budget:,} tokens")
        if n >= budget:
            break
    if n == 0:
        raise UserError(f"The reference corpus '{corpus.name}' has no usable tokens.")
    ident = model_identity(lm)
    for s in todo:
        x = torch.cat(parts[s])  # (N, *F)
        st = RefStats(ident, s, corpus.name, corpus.sha256, int(x.shape[0]),
                      x.mean(0), x.median(0).values, x.std(0, unbiased=False))
        if use_cache:
            _save(root / f"{_key(lm, corpus, s, budget)}.pt", st)
        out[s] = st
    return out
