"""Component views: attention patterns, direct logit attribution, what a neuron writes, a neuron on a prompt, where
the parameters are."""
from interp_core.components.attention import PATTERN_COLUMNS, AttentionPatterns, attention_patterns
from interp_core.components.dla import (DLA_COLUMNS, FROZEN_NOTE, DirectLogitAttribution, check_dla_supported,
                                        direct_logit_attribution)
from interp_core.components.parameters import PARAMETER_COLUMNS, parameter_breakdown
from interp_core.components.prompt_activations import (ACTIVATION_COLUMNS, TOP_NEURON_COLUMNS, PromptActivations,
                                                       prompt_activations)
from interp_core.components.writes import VARIANTS, WRITE_COLUMNS, NeuronWrites, neuron_writes, write_vector

__all__ = ["ACTIVATION_COLUMNS", "DLA_COLUMNS", "FROZEN_NOTE", "PARAMETER_COLUMNS", "PATTERN_COLUMNS", "TOP_NEURON_COLUMNS", "VARIANTS",
           "WRITE_COLUMNS", "AttentionPatterns", "DirectLogitAttribution", "NeuronWrites", "PromptActivations",
           "attention_patterns", "check_dla_supported", "direct_logit_attribution", "neuron_writes", "parameter_breakdown",
           "prompt_activations", "write_vector"]
