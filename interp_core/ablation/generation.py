"""Greedy decoding under (optional) interventions, and reading logits at a few positions cheaply.

No KV cache: each step re-runs the whole sequence with the hooks, so an intervention applies to every
position it names at every step. Logits are decoded only at the positions asked for (the final
residual stream through final norm + unembedding), never the full (T, V) matrix.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch

from interp_core.engine.sites import Site


def final_resid(lm, input_ids: torch.Tensor, interventions: Mapping | None = None,
                capture: Sequence[Site] = ()) -> tuple[torch.Tensor, dict]:
    """One hooked pass up to the last block: (final residual stream (1, T, D), the other captures)."""
    last = Site("resid", lm.adapter.n_layers)
    r = lm.run(input_ids, capture=[last, *capture], interventions=interventions, need_logits=False)
    return r.cache[last], r.cache


def logits_at(lm, input_ids: torch.Tensor, positions: Sequence[int], interventions: Mapping | None = None
              ) -> torch.Tensor:
    """Logits (P, V) at `positions` of one sequence, as the model computes them (float32)."""
    resid, _ = final_resid(lm, input_ids, interventions)
    return decode_positions(lm, resid, positions)


def decode_positions(lm, resid: torch.Tensor, positions: Sequence[int]) -> torch.Tensor:
    """(1, T, D) residual stream -> (P, V) logits at the given positions."""
    with torch.inference_mode():
        return lm.adapter.decode_resid(resid[0, list(positions)]).float()


def greedy(lm, input_ids: torch.Tensor, n: int, interventions: Mapping | None = None,
           progress: Callable[[float, str], None] | None = None, label: str = "Generating") -> tuple[int, ...]:
    """Append `n` argmax tokens to `input_ids` (1, T); returns the new ids. Stops early at EOS."""
    ids = input_ids
    eos = getattr(lm.tokenizer, "eos_token_id", None)
    out: list[int] = []
    for step in range(n):
        nxt = int(logits_at(lm, ids, [ids.shape[1] - 1], interventions)[0].argmax())
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
