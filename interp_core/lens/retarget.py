"""The logit lens in two steps, so a new target never re-runs the model.

1. `lens_decode` (slow, cache it): one forward pass and the top-k decode of every (layer, position); the result
   keeps every hidden state and each cell's log-sum-exp, mean and std of the logits.
2. `retarget` (fast): a target's logit at every cell is one dot product per cell from the kept hidden states;
   probability and z-score follow from the kept statistics. Its rank is exact where the target is in the kept
   top-k, and at the positions asked for (one vocabulary pass over S rows each, e.g. the trajectory's position);
   elsewhere it is the lower bound K+1 and `rank_exact` says so.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from interp_core.errors import UserError
from interp_core.lens.decode import TargetRequest, _direct_logits, decode_stats
from interp_core.lens.logit_lens import LensResult, LensTarget, compute_lens, lens_head
from interp_core.lens.trajectory import default_position, require_mask
from interp_core.results import Progress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel


def lens_decode(lm: LoadedModel, prompt: str, method: str = "auto", top_k: int = 10, progress: Progress | None = None) -> LensResult:
    """The expensive step: forward pass + top-k decode, tracking each position's final prediction."""
    return compute_lens(lm, prompt, method, top_k, None, progress)


def retarget(lm: LoadedModel, result: LensResult, target: str | None, positions: Sequence[int] | None = None,
             progress: Progress | None = None) -> LensResult:
    """`result` tracking `target` (None: each position's final prediction), without a forward pass.

    positions: where ranks must be exact at every layer (default: the default trajectory position, or none
    for a masked LM without a [MASK]). Raises a UserError for a target that is not one token.
    """
    if result.hidden is None or result.lse is None:
        raise ValueError("this LensResult keeps no hidden states; make it with lens_decode / compute_lens")
    S, T = result.zscore.shape
    K = result.top_k
    if target:
        tid = lm.token_id(target)
        if result.masked_lm:
            require_mask(result, "A target token")
        ids_pos = torch.full((T,), tid, dtype=torch.long)
    else:
        ids_pos = torch.as_tensor(result.top_ids[-1, :, 0], dtype=torch.long)  # the last layer's top-1
    head = lens_head(lm, result.method)
    rows = result.hidden.reshape(S * T, -1)  # (S*T, D), row = layer * T + position
    ids = ids_pos.repeat(S)  # (S*T,)
    with torch.inference_mode():
        x = head.pre_rows(rows)
        logit = head.finish(_direct_logits(head, x, ids.to(x.device)).unsqueeze(-1)).squeeze(-1).cpu()  # (S*T,)
    logit = logit.reshape(S, T).numpy().astype(np.float32)
    prob = np.exp(logit - result.lse).astype(np.float32)
    z = ((logit - result.logit_mean) / np.maximum(result.logit_std, 1e-12)).astype(np.float32)
    # Exact rank where the target is in the kept top-k: every logit above it is in the top-k too.
    own = result.top_ids == ids_pos.numpy()[None, :, None]  # (S, T, K)
    in_top = own.any(-1)  # (S, T)
    # the target's own top-k entry never counts as beating it (it may differ from the direct dot product in the last bit)
    above = ((result.top_logits > logit[..., None]) & ~own).sum(-1) + 1  # (S, T)
    rank = np.where(in_top, above, K + 1).astype(np.int64)
    exact = in_top.copy()
    if positions is None:
        positions = () if result.masked_lm and not result.mask_positions else (default_position(result),)
    for p in dict.fromkeys(int(p) for p in positions):
        if not 0 <= p < T:
            raise UserError(f"Position {p} is out of range: the prompt has positions 0..{T - 1}.")
        if exact[:, p].all():
            continue
        hid = result.hidden[:, p]  # (S, D)
        st = decode_stats(head, hid, 1, [TargetRequest(torch.full((S,), int(ids_pos[p]), dtype=torch.long))],
                          progress, label=f"Ranking the target at position {p}")
        ranks = st.target_ranks[0]
        assert ranks is not None  # asked for (rank=True)
        rank[:, p] = ranks.numpy()
        exact[:, p] = True
    new_ids = [int(i) for i in ids_pos.tolist() if int(i) not in result.token_text]
    token_text = {**result.token_text, **dict(zip(new_ids, lm.token_strings(new_ids)))} if new_ids else result.token_text
    return replace(result, token_text=token_text, rank_exact=exact, target=LensTarget(
        token=target or None, token_ids=ids_pos.numpy(), tokens=tuple(token_text[int(i)] for i in ids_pos.tolist()),
        logit=logit, prob=prob, zscore=z, rank=rank))
