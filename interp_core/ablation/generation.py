"""Greedy decoding under (optional) interventions, and reading logits at a few positions cheaply.

`greedy` uses the KV cache: the prompt runs once, then each step runs only the new token. An
intervention hook then sees only the new position, so it is called on the sequence padded on the left
to its full length and the new position is cut back out: the hook decides by absolute position, exactly
as on the no-cache path (`greedy_uncached`, which re-runs the whole sequence each step and is kept as the
reference the tests compare against). Interventions must be position-wise (position p's replacement
depends only on x[:, p], p and the sequence length), which every `make_intervention` function is.
Logits are decoded only at the positions asked for (final norm + unembedding), never the full (T, V) matrix.
Sampling (`Sampling`) gives every row its own generator seeded alike, so rows differ only by their interventions.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from interp_core.engine.hooks import StopForward, hooked, last_block_needed
from interp_core.engine.sites import Site

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel


@dataclass(frozen=True)
class Sampling:
    """Sample instead of taking the argmax: softmax(logits / temperature), one generator per row seeded `seed`."""

    temperature: float = 1.0
    seed: int = 0

    def generators(self, n: int) -> list[torch.Generator]:
        return [torch.Generator().manual_seed(int(self.seed)) for _ in range(n)]


def pick_tokens(lm: LoadedModel, resid: torch.Tensor, sample: Sampling | None, gens: Sequence[torch.Generator]
                ) -> list[int]:
    """Final residual rows (R, D) -> each row's next token: the argmax, or a draw from row r's generator."""
    if sample is None:
        return lm.adapter.greedy_tokens(resid)
    with torch.inference_mode():
        logits = lm.adapter.decode_resid(resid).float().cpu()  # (R, V)
    probs = torch.softmax(logits / max(float(sample.temperature), 1e-6), -1)
    return [int(torch.multinomial(p, 1, generator=g)) for p, g in zip(probs, gens)]


def final_resid(lm: LoadedModel, input_ids: torch.Tensor, interventions: Mapping | None = None,
                capture: Sequence[Site] = ()) -> tuple[torch.Tensor, dict]:
    """One hooked pass up to the last block: (final residual stream (1, T, D), the other captures)."""
    last = Site("resid", lm.adapter.n_layers)
    r = lm.run(input_ids, capture=[last, *capture], interventions=interventions, need_logits=False)
    return r.cache[last], r.cache


def logits_at(lm: LoadedModel, input_ids: torch.Tensor, positions: Sequence[int], interventions: Mapping | None = None
              ) -> torch.Tensor:
    """Logits (P, V) at `positions` of one sequence, as the model computes them (float32)."""
    resid, _ = final_resid(lm, input_ids, interventions)
    return decode_positions(lm, resid, positions)


def decode_positions(lm: LoadedModel, resid: torch.Tensor, positions: Sequence[int]) -> torch.Tensor:
    """(1, T, D) residual stream -> (P, V) logits at the given positions."""
    with torch.inference_mode():
        return lm.adapter.decode_resid(resid[0, list(positions)]).float()


def greedy(lm: LoadedModel, input_ids: torch.Tensor, n: int, interventions: Mapping | None = None,
           progress: Callable[[float, str], None] | None = None, label: str = "Generating") -> tuple[int, ...]:
    """Append `n` argmax tokens to `input_ids` (1, T) with the KV cache; returns the new ids. Stops early at EOS."""
    return _greedy_rows(lm, input_ids, n, [interventions or {}], progress, label)[0]


def greedy_pair(lm: LoadedModel, input_ids: torch.Tensor, n: int, interventions: Mapping | None = None,
                progress: Callable[[float, str], None] | None = None, label: str = "Generating"
                ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Clean and intervened greedy continuations of one prompt (1, T) together: a batch of two rows, row 0 clean
    and row 1 under `interventions`, one KV-cached pass per step. The same tokens as `greedy(..., None)` and
    `greedy(..., interventions)`, with half the passes (bench/RESULTS.md has the timings)."""
    clean, ablated = _greedy_rows(lm, input_ids, n, [{}, interventions or {}], progress, label)
    return clean, ablated


def generate_rows(lm: LoadedModel, input_ids: torch.Tensor, n: int, per_row: Sequence[Mapping],
                  sample: Sampling | None = None, progress: Callable[[float, str], None] | None = None,
                  label: str = "Generating") -> list[tuple[int, ...]]:
    """Continuations of one prompt (1, T), one KV-cached batch row per entry of `per_row` (that row's
    interventions), greedy or sampled (every row's generator seeded alike)."""
    return _greedy_rows(lm, input_ids, n, per_row, progress, label, sample)


def _greedy_rows(lm: LoadedModel, input_ids: torch.Tensor, n: int, per_row: Sequence[Mapping],
                 progress: Callable[[float, str], None] | None, label: str, sample: Sampling | None = None
                 ) -> list[tuple[int, ...]]:
    """Greedy (or sampled) continuations of one prompt (1, T), one batch row per entry of `per_row` (that row's
    interventions, engine/batching.row_interventions); each row stops at its own EOS, the batch when every row has."""
    from transformers import DynamicCache

    from interp_core.engine.batching import row_interventions

    eos = getattr(lm.tokenizer, "eos_token_id", None)
    offset = [0]  # absolute position of the first token fed in the current step
    hooks = {site: _at_offset(fn, offset) for site, fn in row_interventions(per_row).items()}
    last = Site("resid", lm.adapter.n_layers)
    cache = DynamicCache(config=lm.model.config)
    new = input_ids.to(lm.device).expand(len(per_row), -1)  # (R, T)
    total = new.shape[1]
    outs: list[list[int]] = [[] for _ in per_row]
    done = [False] * len(per_row)
    gens = sample.generators(len(per_row)) if sample is not None else []
    with hooked(lm, [last], hooks, stop_after_block=last_block_needed([last])) as h:
        for step in range(n):
            try:
                lm.model(input_ids=new, cache=cache, use_cache=True)
            except StopForward:  # the cache is filled block by block, so stopping after the last block keeps it whole
                pass
            nxt = pick_tokens(lm, h.cache[last][:, -1], sample, gens)  # (R,)
            for r, tok in enumerate(nxt):
                if not done[r]:
                    outs[r].append(int(tok))
                    done[r] = tok == eos
            offset[0] += new.shape[1]
            total += 1
            new = torch.tensor([[t] for t in nxt], device=new.device, dtype=new.dtype)
            if progress is not None:
                progress((step + 1) / n, f"{label}: {step + 1}/{n} tokens")
            if all(done) or total >= lm.adapter.n_ctx:
                break
    return [tuple(o) for o in outs]


def _at_offset(fn: Callable[[torch.Tensor], torch.Tensor], offset: list[int]) -> Callable[[torch.Tensor], torch.Tensor]:
    """Run a position-wise intervention on new tokens that start at absolute position offset[0]."""
    def shifted(x: torch.Tensor) -> torch.Tensor:  # x: (B, t_new, *F)
        off = offset[0]
        if off == 0:
            return fn(x)
        full = torch.cat([x.new_zeros((x.shape[0], off, *x.shape[2:])), x], dim=1)  # (B, off + t_new, *F)
        return fn(full)[:, off:]
    return shifted


def greedy_uncached(lm: LoadedModel, input_ids: torch.Tensor, n: int, interventions: Mapping | None = None,
                    progress: Callable[[float, str], None] | None = None, label: str = "Generating",
                    sample: Sampling | None = None) -> tuple[int, ...]:
    """The reference: like `greedy` (or sampled like `generate_rows`), but every step re-runs the whole sequence
    (no KV cache)."""
    ids = input_ids
    eos = getattr(lm.tokenizer, "eos_token_id", None)
    out: list[int] = []
    gens = sample.generators(1) if sample is not None else []
    for step in range(n):
        resid, _ = final_resid(lm, ids, interventions)
        if sample is None:
            nxt = int(decode_positions(lm, resid, [ids.shape[1] - 1])[0].argmax())
        else:
            nxt = pick_tokens(lm, resid[:, -1], sample, gens)[0]
        out.append(nxt)
        ids = torch.cat([ids, torch.tensor([[nxt]], device=ids.device, dtype=ids.dtype)], dim=1)
        if progress is not None:
            progress((step + 1) / n, f"{label}: {step + 1}/{n} tokens")
        if nxt == eos or ids.shape[1] >= lm.adapter.n_ctx:
            break
    return tuple(out)


def first_divergence(a: Sequence[int], b: Sequence[int]) -> int | None:
    """Index of the first step where two generations differ (None when identical)."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))
