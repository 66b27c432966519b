"""What to steer and how: the `Steer` description (site, layer, strength, positions), its validation, the site's
typical norm, and the hook function that adds α·v to the site's output.

Like every intervention it is a position-wise hook for the duration of one pass (engine/hooks.py), so it also
applies at every generated token under the KV cache (generation.py). α is absolute (in the site's units, along
the unit direction) or a multiple of the site's typical norm: the mean ‖activation‖ over the prompt's
non-special tokens (special tokens such as BOS carry outlier norms).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import torch

from interp_core.engine.sites import CHOICES, STEER_SITES, Site, choice
from interp_core.errors import UserError
from interp_core.paths import shown
from interp_core.steer_terms import ALPHA_UNITS, POSITIONS_HELP

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel


@dataclass(frozen=True)
class Steer:
    """Add α·v at one site and layer: where, how strong, at which positions."""

    site: str = "resid_pre"  # one of sites.STEER_SITES
    layer: int = 0
    alpha: float = 4.0
    alpha_unit: str = "abs"  # one of ALPHA_UNITS
    positions: str = "all"  # see POSITIONS_HELP
    raw: bool = False  # True: keep the direction's own length instead of unit norm

    @property
    def hook_site(self) -> Site:
        return CHOICES[self.site].site(self.layer)

    def at(self, **changes) -> Steer:
        return replace(self, **changes)

    def label(self) -> str:
        unit = "× typical norm" if self.alpha_unit == "norm" else ""
        vec = "raw v" if self.raw else "v̂"
        return f"add {self.alpha:g}{unit} · {vec} at {self.site} {self.layer} ({self.positions})"


def check_steer(lm: LoadedModel, s: Steer) -> None:
    """A UserError naming the first thing about `s` that does not fit this model."""
    c = choice(s.site, STEER_SITES)
    c.check_layer(int(s.layer), lm.adapter.n_layers)
    if s.alpha_unit not in ALPHA_UNITS:
        raise UserError(f"Unknown α unit '{s.alpha_unit}'; choose one of {', '.join(ALPHA_UNITS)}.")
    if not math.isfinite(s.alpha):
        raise UserError("The steering strength α must be a finite number.")
    steer_positions(s.positions, 1 << 20)  # the syntax; the range is checked against the prompt later


def steer_positions(text: str, prompt_len: int) -> tuple[int | None, tuple[int, ...]]:
    """(first position from which every later one is steered, or None; chosen prompt positions), absolute."""
    t = str(text or "all").strip().lower()
    if t == "all":
        return 0, ()
    if t == "last":
        return None, (prompt_len - 1,)
    start = t[5:] if t.startswith("from ") else t[:-1] if t.endswith(":") else None
    parts = [start] if start is not None else [p for p in t.replace(" ", "").split(",") if p]
    out = []
    for p in parts:
        try:
            q = int(p)
        except ValueError:
            raise UserError(f"Steering positions '{shown(str(text), 40)}' are not understood; use {POSITIONS_HELP}.") from None
        q = q + prompt_len if q < 0 else q
        if not 0 <= q < prompt_len:
            raise UserError(f"Position {p} is outside the prompt, which has positions 0..{prompt_len - 1}.")
        out.append(q)
    if not out:
        raise UserError(f"No steering positions given; use {POSITIONS_HELP}.")
    return (out[0], ()) if start is not None else (None, tuple(sorted(set(out))))


def typical_norm(lm: LoadedModel, activation: torch.Tensor, input_ids: torch.Tensor) -> float:
    """Mean L2 norm of a site's activation (1, T, D) over the prompt's non-special tokens (all of them if none)."""
    special = torch.tensor(sorted(set(getattr(lm.tokenizer, "all_special_ids", ()))), dtype=torch.long)
    keep = ~torch.isin(input_ids[0].cpu(), special)  # (T,)
    norms = activation[0].float().norm(dim=-1).cpu()  # (T,)
    return float(norms[keep].mean() if keep.any() else norms.mean())


def steering_vector(direction: torch.Tensor, s: Steer, norm: float) -> torch.Tensor:
    """α·v as added (D,): v unit-normalised unless raw; α scaled by the typical norm when alpha_unit is 'norm'."""
    v = direction.detach().float().cpu()
    if not s.raw:
        n = float(v.norm())
        if n == 0 or not math.isfinite(n):
            raise UserError("The steering direction is zero (or not finite), so it has no direction to add.")
        v = v / n
    alpha = s.alpha * (norm if s.alpha_unit == "norm" else 1.0)
    return alpha * v


def make_steer(delta: torch.Tensor, s: Steer, prompt_len: int):
    """The hook function: x (B, T, D) -> x + delta at the chosen positions (generated ones under 'all' / 'from')."""
    start, chosen = steer_positions(s.positions, prompt_len)
    zero = not bool(delta.any())

    def fn(x: torch.Tensor) -> torch.Tensor:  # x: (B, T, D)
        if zero:
            return x  # α = 0: the clean activation itself, bit for bit
        T = x.shape[1]
        pos = torch.zeros(T, dtype=torch.bool, device=x.device)
        if start is not None:
            pos[start:] = True
        pos[[p for p in chosen if p < T]] = True
        d = delta.to(device=x.device, dtype=x.dtype)  # (D,)
        return torch.where(pos.view(T, 1), x + d, x)

    return fn
