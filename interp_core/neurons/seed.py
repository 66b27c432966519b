"""The seed method: which corpus tokens make one neuron (or residual dimension) fire hardest.

Each sample draws B windows of T tokens at random offsets, runs them, and records the token at the argmax of
the (B, T) activation matrix of the chosen dimension. Winners are counted over N samples; the strongest
samples are reported with their context and enough provenance to recompute them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from interp_core.budgets import budgets
from interp_core.engine.scheduler import scheduled
from interp_core.errors import UserError
from interp_core.engine.sites import NEURON_SITES, Site, choice, sae_id
from interp_core.features.store import attach
from interp_core.data.tokens import TokenizedCorpus, context, context_text, display_tokens
from interp_core.results import Progress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

WINNER_COLUMNS = ["token", "token_id", "count", "fraction"]
SAMPLE_COLUMNS = ["sample", "token", "token_id", "activation", "index", "window_start", "window_end", "context"]


def resolve_site(lm: LoadedModel, site: str, layer: int) -> tuple[Site, int]:
    """Map the user's (site, layer) to a hook Site and the number of dimensions there; clear errors if out of range.

    site 'sae:ID': the SAE's latents, at the layer of the site it reads (attached to the model on first use)."""
    sid = sae_id(site)
    if sid is not None:
        hook_site, sae = attach(lm, sid)
        if layer != hook_site.layer:
            raise UserError(f"The SAE '{sid}' reads {sae.hook_name}, which is layer {hook_site.layer} here, "
                            f"not layer {layer}.")
        return hook_site, sae.d_sae
    c = choice(site, NEURON_SITES)
    c.check_layer(layer, lm.adapter.n_layers)
    return c.site(layer), c.width(lm.adapter)


def check_dim(dim: int, width: int, site: str) -> None:
    if not 0 <= dim < width:
        raise UserError(f"Dimension {dim} is out of range; this {site} site has {width} dimensions (0–{width - 1}).")


def sample_offsets(n_tokens: int, seq_len: int, batch_size: int, samples: int, seed: int) -> np.ndarray:
    """Window starts for every sample: (samples, batch_size), uniform over [0, n_tokens - seq_len]."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_tokens - seq_len + 1, size=(samples, batch_size), dtype=np.int64)


@dataclass(frozen=True)
class SeedResult:
    winners: pd.DataFrame  # WINNER_COLUMNS, sorted by count (desc), then first appearance
    samples: pd.DataFrame  # SAMPLE_COLUMNS, one row per sample, in sample order
    provenance: dict  # how the corpus was tokenized and windowed, and the parameters

    def top(self, n: int = 20) -> pd.DataFrame:
        """The n strongest samples (highest activation first), each corpus token once: overlapping windows can
        make one token win several samples; its strongest sample stands for it."""
        ranked = self.samples.sort_values("activation", ascending=False, kind="stable")
        return ranked.drop_duplicates("index", keep="first").head(n).reset_index(drop=True)

    def frame(self) -> pd.DataFrame:
        """SAMPLE_COLUMNS, one row per sample, in sample order."""
        return self.samples

    def to_dict(self, n_top: int = 20) -> dict:
        return {**self.provenance,
                "winners": self.winners.to_dict("records"),
                "top": [{**r, "bos_prepended": self.provenance["bos_prepended"]}
                        for r in self.top(n_top).to_dict("records")]}


def validate(lm: LoadedModel, tc: TokenizedCorpus, site: str, layer: int, seq_len: int) -> tuple[Site, int]:
    hook_site, width = resolve_site(lm, site, layer)
    tc.check_window(seq_len, lm.adapter.n_ctx)
    return hook_site, width


@scheduled("long")
def seed_method(lm: LoadedModel, tc: TokenizedCorpus, *, site: str, layer: int, dim: int, batch_size: int = 32,
                seq_len: int = 256, samples: int = 1000, seed: int = 0, progress: Progress | None = None) -> SeedResult:
    """Run the seed protocol; `progress(fraction, message)` is called after every sample and may raise to cancel."""
    hook_site, width = validate(lm, tc, site, layer, seq_len)
    check_dim(dim, width, site)
    if batch_size < 1 or samples < 1:
        raise UserError("The batch size and the number of samples must be at least 1.")
    budgets().seed_tokens.check(samples * batch_size * seq_len)
    offsets = sample_offsets(tc.n_tokens, seq_len, batch_size, samples, seed)  # (N, B)
    picked: list[tuple[int, float]] = []  # (global index, activation) per sample
    win_start: list[int] = []
    for s in range(samples):
        ids = tc.batch(offsets[s], seq_len, lm.device)  # (B, P+T+S)
        grab: dict = {}  # keep only dimension `dim` of the captured (B, P+T+S, width) activation

        def keep(_site, x, grab=grab):
            grab["a"] = x[..., dim].float().clone()  # (B, P+T+S)

        lm.run(ids, capture=[hook_site], need_logits=False, on_capture=keep)
        acts = tc.content(grab["a"])  # (B, T)
        flat = int(torch.argmax(acts).item())  # first maximum on ties, like numpy
        b, t = divmod(flat, seq_len)
        start = int(offsets[s, b])
        picked.append((start + t, float(acts[b, t].item())))
        win_start.append(start)
        if progress is not None:
            progress((s + 1) / samples, f"sample {s + 1:,}/{samples:,} · {(s + 1) * batch_size * seq_len:,} tokens")
    rows = []
    for s, ((idx, act), start) in enumerate(zip(picked, win_start)):
        tid = int(tc.ids[idx])
        toks, pos = context(lm, tc, idx, start, start + seq_len)
        rows.append({"sample": s, "token": lm.token_strings([tid])[0], "token_id": tid, "activation": act, "index": idx,
                     "window_start": start, "window_end": start + seq_len, "context": context_text(toks, pos)})
    df = pd.DataFrame(rows, columns=SAMPLE_COLUMNS)
    return SeedResult(count_winners(df), df, {
        **tc.provenance(), "model": lm.spec.name, "site": site, "hook_site": str(hook_site), "layer": layer,
        "dim": dim, "batch_size": batch_size, "seq_len": seq_len, "samples": samples, "seed": seed,
        "windowing": ("per sample: batch_size windows of seq_len corpus tokens starting at "
                      "numpy.random.default_rng(seed).integers(0, n_tokens - seq_len + 1, size=(samples, batch_size)); "
                      "window_end is exclusive"),
    })


def count_winners(samples: pd.DataFrame) -> pd.DataFrame:
    """Winning tokens with counts and fractions, most frequent first (ties: first seen first)."""
    if samples.empty:
        return pd.DataFrame(columns=WINNER_COLUMNS)
    g = samples.groupby("token_id", sort=False).agg(token=("token", "first"), count=("sample", "size"),
                                                     first=("sample", "min")).reset_index()
    g = g.sort_values(["count", "first"], ascending=[False, True], kind="stable")
    g["fraction"] = g["count"] / len(samples)
    return g[WINNER_COLUMNS].reset_index(drop=True)


def window_activations(lm: LoadedModel, tc: TokenizedCorpus, rows: pd.DataFrame, *, site: str, layer: int, dim: int,
                       left: int = 12, right: int = 4) -> list[dict]:
    """Re-run the windows of reported tokens and return each context's per-token activations of `dim`.

    rows: a table with index, window_start, window_end, activation (seed samples or scan top rows).
    Each item: tokens (display strings), acts (floats), pos (the reported token), index, activation.
    """
    hook_site, width = resolve_site(lm, site, layer)
    check_dim(dim, width, site)
    out = []
    for length, grp in rows.groupby(rows["window_end"] - rows["window_start"], sort=False):
        starts = grp["window_start"].to_numpy()
        ids = tc.batch(starts, int(length), lm.device)  # (B, P+length+S)
        acts = tc.content(lm.run(ids, capture=[hook_site], need_logits=False).cache[hook_site])[..., dim]
        acts = acts.float().cpu().numpy()  # (B, length)
        for key, row, a in zip(grp.index, grp.itertuples(), acts):
            lo = max(row.window_start, row.index - left)
            hi = min(row.window_end, row.index + right + 1)
            out.append({"key": key, "index": int(row.index), "activation": float(row.activation),
                        "tokens": display_tokens(lm, tc.ids[lo:hi].tolist()),
                        "acts": a[lo - row.window_start:hi - row.window_start].tolist(), "pos": int(row.index - lo)})
    order = {k: i for i, k in enumerate(rows.index)}
    return sorted(out, key=lambda d: order[d["key"]])
