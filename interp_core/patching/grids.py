"""Exact patching grids: residual stream, attention output and MLP output as layer × position, heads as
layer × head (every position). One patched run per cell, batched (see batched.py)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from interp_core.budgets import budgets
from interp_core.engine.sites import CHOICES, layer_label
from interp_core.errors import UserError
from interp_core.patching.batched import DIRECTIONS, Component, run_components
from interp_core.patching.prepared import Prepared, prepare
from interp_core.results import Progress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

GRIDS: dict[str, str] = {
    "resid": "residual stream, layer × position",
    "attn_out": "attention output, layer × position",
    "mlp_out": "MLP output, layer × position",
    "heads": "attention heads, layer × head (every position)",
}
GRID_COLUMNS = ["grid", "direction", "layer", "layer_label", "position", "token", "head", "value"]


def grid_components(lm: LoadedModel, prep: Prepared, grid: str) -> tuple[list[Component], list[int], list[int]]:
    """The cells of a grid in row-major order, its layers (rows) and its columns (positions or heads)."""
    if grid not in GRIDS:
        raise UserError(f"Unknown grid '{grid}'; choose one of {', '.join(GRIDS)}.")
    if grid == "heads":
        layers, cols = list(range(lm.adapter.n_layers)), list(range(lm.adapter.n_heads))
        return [Component("head", l, None, h) for l in layers for h in cols], layers, cols
    layers, cols = list(CHOICES[grid].layers(lm.adapter.n_layers)), list(prep.positions)
    return [Component(grid, l, p) for l in layers for p in cols], layers, cols


@dataclass(frozen=True, eq=False)
class PatchGrid:
    """The metric after patching each cell alone; values (layers, columns)."""

    grid: str
    direction: str
    prep: Prepared
    layers: tuple[int, ...]
    columns: tuple[int, ...]  # clean positions, or head indices for "heads"
    values: np.ndarray  # (len(layers), len(columns))
    seconds: float

    @property
    def metric(self):
        return self.prep.metric

    def layer_label(self, layer: int) -> str:
        return layer_label(self.grid, layer)

    def column_label(self, col: int) -> str:
        return f"H{col}" if self.grid == "heads" else f"{col}: {self.prep.position_label(col)}"

    def component(self, layer: int, col: int) -> Component:
        if self.grid == "heads":
            return Component("head", layer, None, col)
        return Component(self.grid, layer, col)

    def value(self, layer: int, col: int) -> float:
        return float(self.values[self.layers.index(layer), self.columns.index(col)])

    def frame(self) -> pd.DataFrame:
        rows = []
        for i, layer in enumerate(self.layers):
            for j, col in enumerate(self.columns):
                pos = None if self.grid == "heads" else col
                rows.append({"grid": self.grid, "direction": self.direction, "layer": layer,
                             "layer_label": self.layer_label(layer), "position": pos,
                             "token": None if pos is None else self.prep.position_label(pos),
                             "head": col if self.grid == "heads" else None, "value": float(self.values[i, j])})
        return pd.DataFrame(rows, columns=GRID_COLUMNS)

    def to_dict(self) -> dict:
        return {"kind": "patch_grid", "grid": self.grid, "about": GRIDS[self.grid], "direction": self.direction,
                "direction_about": DIRECTIONS[self.direction], "provenance": self.prep.provenance(),
                "layers": list(self.layers), "layer_labels": [self.layer_label(l) for l in self.layers],
                "columns": list(self.columns), "column_labels": [self.column_label(c) for c in self.columns],
                "values": self.values.tolist(), "n_runs": int(self.values.size), "seconds": self.seconds,
                "records": self.frame().to_dict(orient="records")}


def patch_grid(lm: LoadedModel, clean: str, corrupt: str, target: str, foil: str | None = None, *, grid: str = "resid",
               metric: str = "logit_diff", align: str = "refuse", direction: str = "denoise",
               prep: Prepared | None = None, progress: Progress | None = None) -> PatchGrid:
    """Exact patching of every cell of `grid` (each alone), batched; see batched.DIRECTIONS."""
    if grid not in GRIDS:
        raise UserError(f"Unknown grid '{grid}'; choose one of {', '.join(GRIDS)}.")
    prep = prep or prepare(lm, clean, corrupt, target, foil, metric=metric, align=align)
    comps, layers, cols = grid_components(lm, prep, grid)
    budgets().sweep_points.check(len(comps))
    t0 = time.perf_counter()
    vals = run_components(lm, prep, comps, direction=direction, progress=progress, label=f"{grid} grid")
    return PatchGrid(grid, direction, prep, tuple(layers), tuple(cols), vals.reshape(len(layers), len(cols)),
                     time.perf_counter() - t0)

