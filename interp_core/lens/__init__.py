"""Logit lens: every layer's hidden state decoded into the vocabulary, trajectories and sweeps."""
from interp_core.lens.logit_lens import METHOD_HELP, METHODS, LensResult, LensTarget, compute_lens, resolve_method
from interp_core.lens.retarget import lens_decode, retarget
from interp_core.lens.trajectory import Trajectory, default_position, require_mask, snap_layer, trajectory
from interp_core.lens.sweep import LensSweep, lens_sweep, masked_sweep, next_token_sweep

__all__ = ["METHOD_HELP", "METHODS", "LensResult", "LensSweep", "LensTarget", "Trajectory", "compute_lens",
           "default_position", "lens_decode", "lens_sweep", "masked_sweep", "next_token_sweep", "require_mask", "resolve_method", "retarget",
           "snap_layer", "trajectory"]
