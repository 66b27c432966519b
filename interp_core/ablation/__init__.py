"""Ablation playground: interventions at a site (zero / mean / median / noise / scale / patch), clean vs
ablated comparisons with generation, sweeps and self-repair; and steering (adding a direction), with its sweep."""
from interp_core.ablation.directions import Direction, DirectionSpec, build_direction, register_source
from interp_core.ablation.inputs import ablation_from_text, parse_scales
from interp_core.ablation.interventions import (
                                                METHODS,
                                                NEEDS_REFERENCE,
                                                Ablation,
                                                check_ablation,
                                                parse_ints,
                                                parse_positions,
)
from interp_core.ablation.results import (
                                                SWEEP_COLUMNS,
                                                AblationResult,
                                                AblationSweep,
                                                Comparison,
                                                SelfRepair,
                                                Side,
                                                SweepPoint,
                                                TokenProb,
)
from interp_core.ablation.run import COMPONENTS, kl_divergence, prediction_positions, run_ablation
from interp_core.ablation.steer import Steer
from interp_core.ablation.steer_results import SteerResult, SteerSweep
from interp_core.ablation.vectors import load_vector, save_vector  # also registers the "vector" source
from interp_core.ablation.steer_run import DEFAULT_ALPHAS, parse_alphas, run_steer, steer_sweep
from interp_core.ablation.sweep import DEFAULT_SCALES, sweep

__all__ = ["COMPONENTS", "DEFAULT_SCALES", "METHODS", "NEEDS_REFERENCE", "SWEEP_COLUMNS", "Ablation", "AblationResult",
           "AblationSweep", "Comparison", "SelfRepair", "Side", "SweepPoint", "TokenProb", "ablation_from_text", "check_ablation", "kl_divergence",
           "parse_ints", "parse_positions", "parse_scales", "prediction_positions", "run_ablation", "sweep",
           "DEFAULT_ALPHAS", "Direction", "DirectionSpec", "Steer", "SteerResult", "SteerSweep", "build_direction",
           "parse_alphas", "load_vector", "register_source", "run_steer", "save_vector", "steer_sweep"]
