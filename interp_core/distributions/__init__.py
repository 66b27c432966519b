"""Activation distributions: which tokens to measure (sampling), streaming summaries (stats), the run."""
from interp_core.distributions.run import (OUTLIER_COLUMNS, SCATTER_COLUMNS, STAT_COLUMNS, DistAccumulator, DistResult,
                                           activation_distributions, layer_sites)
from interp_core.distributions.kept import KeptDistributions, measure
from interp_core.distributions.sampling import Sample, corpus_sample, prompt_sample
from interp_core.distributions.stats import CrossLayer, Moments, SharedHistogram

__all__ = ["OUTLIER_COLUMNS", "SCATTER_COLUMNS", "STAT_COLUMNS", "CrossLayer", "DistAccumulator", "DistResult",
           "KeptDistributions", "Moments", "Sample", "SharedHistogram", "activation_distributions", "corpus_sample", "layer_sites",
           "measure", "prompt_sample"]
