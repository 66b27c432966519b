"""Neuron explorer: the seed method (argmax over random windows) and whole-layer scans with top-k contexts."""
from interp_core.neurons.scan import (SCAN_VERSION, STAT_COLUMNS, TOP_COLUMNS, ScanResult, cached_layers, cached_scan,
                                      resolve_layers, scan_layer, scan_layers)
from interp_core.neurons.scan_state import ScanState
from interp_core.neurons.seed import SeedResult, count_winners, seed_method, window_activations

__all__ = ["SCAN_VERSION", "STAT_COLUMNS", "TOP_COLUMNS", "ScanResult", "ScanState", "SeedResult", "cached_layers",
           "cached_scan", "count_winners", "resolve_layers", "scan_layer", "scan_layers", "seed_method",
           "window_activations"]
