"""A logit-lens target across layers at one position: z-score, probability, rank and the layer where it snaps in."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from interp_core.errors import UserError
from interp_core.identity_memo import identity_memo

if TYPE_CHECKING:
    from interp_core.lens.logit_lens import LensResult


def require_mask(result_or_positions, what: str = "This view") -> None:
    """Masked LMs predict at [MASK]; views about a prediction need one in the prompt."""
    positions = getattr(result_or_positions, "mask_positions", result_or_positions)
    if not positions:
        raise UserError(f"{what} needs a [MASK] in the prompt: BERT predicts the word at [MASK] "
                        "(e.g. 'The Eiffel Tower is in the city of [MASK].').")


@dataclass(frozen=True, eq=False)
class Trajectory:
    """The target's z-score, probability and rank at every layer for one position."""

    position: int
    position_token: str
    target: str  # readable target token
    layers: tuple[int, ...]
    zscore: np.ndarray  # (S,)
    prob: np.ndarray  # (S,)
    rank: np.ndarray  # (S,)
    snap_layer: int | None  # first layer from which the target is top-1 at every later layer; None if never

    def frame(self):
        import pandas as pd

        return pd.DataFrame({"layer": list(self.layers), "target": self.target, "zscore": self.zscore,
                             "prob": self.prob, "rank": self.rank,
                             "snap": [layer == self.snap_layer for layer in self.layers]})

    def to_dict(self) -> dict:
        return {"position": self.position, "position_token": self.position_token, "target": self.target,
                "layers": list(self.layers), "zscore": self.zscore.tolist(), "prob": self.prob.tolist(),
                "rank": self.rank.tolist(), "snap_layer": self.snap_layer}


def snap_layer(rank: np.ndarray, layers) -> int | None:
    """The layer where rank becomes 1 and stays 1 to the end; None if the last layer is not top-1."""
    snap = None
    for layer, r in zip(reversed(list(layers)), reversed(rank.tolist())):
        if r != 1:
            break
        snap = layer
    return snap


def default_position(result: LensResult) -> int:
    """Decoders: the last position (the next-token prediction). Masked LMs: the first [MASK]."""
    if result.masked_lm:
        require_mask(result, "The trajectory")
        return result.mask_positions[0]
    return len(result.tokens) - 1


@identity_memo
def trajectory(result: LensResult, position: int | None = None) -> Trajectory:
    """The tracked target at `position` (default: see default_position) across layers."""
    if position is None:
        position = default_position(result)
    if not 0 <= position < len(result.tokens):
        raise UserError(f"Position {position} is out of range: the prompt has positions 0..{len(result.tokens) - 1}.")
    if result.masked_lm:
        require_mask(result, "The trajectory")
        if position not in result.mask_positions:
            raise UserError(f"Position {position} is not a [MASK]; BERT's trajectory is read at a [MASK] position "
                            f"({', '.join(map(str, result.mask_positions))}).")
    t = result.target
    rank = t.rank[:, position]
    return Trajectory(position, result.tokens[position], t.tokens[position], result.layers,
                      t.zscore[:, position].copy(), t.prob[:, position].copy(), rank.copy(),
                      snap_layer(rank, result.layers))
