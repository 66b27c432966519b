"""Activation patching at scale: exact layer × position / layer × head grids (batched, many patches per
forward) and attribution patching (2 forwards + 1 backward for every component), with exact checks."""
from interp_core.patching.attribution import (ATTR_COLUMNS, SCREENS, Attribution, Checked, all_heads, attribute,
                                              exact_check)
from interp_core.patching.batched import DIRECTIONS, Component, run_components
from interp_core.patching.grids import GRID_COLUMNS, GRIDS, PatchGrid, grid_components, patch_grid
from interp_core.patching.metric import METRICS, Metric
from interp_core.patching.pairs import DEFAULT_PAIR, PAIRS, Pair
from interp_core.patching.prepared import ALIGN, Prepared, prepare

__all__ = ["ALIGN", "ATTR_COLUMNS", "DEFAULT_PAIR", "DIRECTIONS", "GRIDS", "GRID_COLUMNS", "METRICS", "PAIRS",
           "SCREENS", "Attribution", "Checked", "Component", "Metric", "Pair", "PatchGrid", "Prepared", "all_heads",
           "attribute", "exact_check", "grid_components", "patch_grid", "prepare",
           "run_components"]
