"""The neuron explorer's small per-neuron jobs: what a neuron writes (direct path to the logits), its
activation on a typed prompt, and its top contexts read back from a scan."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from interp_core.results import Progress

from .base import Key, PageJob, context, model_id

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.components import NeuronWrites, PromptActivations


@dataclass(frozen=True)
class NeuronKey(Key):
    site: str
    layer: int
    dim: int


@dataclass(frozen=True)
class WritesKey(NeuronKey):
    k: int = 15


def writes_key(lm: LoadedModel, site: str, layer: int, dim: int, k: int = 15) -> WritesKey:
    return WritesKey(model_id(lm), site, int(layer), int(dim), k)


class WritesJob(PageJob[WritesKey, "NeuronWrites"]):
    """The tokens a neuron promotes and suppresses through the direct path (weights only, no forward pass)."""

    slot = "ne_neuron_writes"  # sections pass their own prefix's slot
    shared = True

    def compute(self, lm: LoadedModel, key: WritesKey, progress: Progress | None = None) -> NeuronWrites:
        from interp_core.components import neuron_writes

        return neuron_writes(lm, site=key.site, layer=key.layer, dim=key.dim, k=key.k)


@dataclass(frozen=True)
class PromptKey(Key):
    prompt: str
    site: str
    layer: int
    dim: int


def prompt_key(lm: LoadedModel, prompt: str, site: str, layer: int, dim: int) -> PromptKey:
    return PromptKey(model_id(lm), prompt, site, int(layer), int(dim))


class PromptJob(PageJob[PromptKey, "PromptActivations"]):
    """One neuron's activation on every token of a typed prompt (and its layer's top neurons there)."""

    slot = "neuron_prompt"
    shared = True

    def compute(self, lm: LoadedModel, key: PromptKey, progress: Progress | None = None) -> PromptActivations:
        from interp_core.components import prompt_activations

        return prompt_activations(lm, key.prompt, site=key.site, layer=key.layer, dim=key.dim)


@dataclass(frozen=True)
class ContextsKey(Key):
    """A scanned neuron's strongest contexts, keyed by the scan's own key (corpus and settings)."""

    scan: Any
    neuron: int
    site: str = context("")
    layer: int = context(0)
    top: Any = context()  # the neuron's top rows from the scan
    tokens: Any = context()  # the tokenized corpus


class ContextsJob(PageJob[ContextsKey, "list[dict[str, Any]]"]):
    slot = "ne_ctx"
    shared = True

    def compute(self, lm: LoadedModel, key: ContextsKey, progress: Progress | None = None) -> list[dict[str, Any]]:
        from interp_core.neurons import window_activations

        return window_activations(lm, key.tokens, key.top.head(10), site=key.site, layer=key.layer, dim=key.neuron)


WRITES = WritesJob()
PROMPT = PromptJob()
CONTEXTS = ContextsJob()
