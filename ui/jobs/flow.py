"""Information flow: the dense contributions of one prompt (every attention edge per head and every MLP, with the
residual's share) computed once per model and prompt for every session; the graph is cut from them at once for any
token and threshold. Per-neuron contributions of one MLP at one position, on demand."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from interp_core.estimates import flow_flops, forward_flops
from interp_core.results import Progress

from .base import Cost, Key, PageJob, model_id, n_tokens

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.flow import FlowContributions, NeuronContributions, TokenLists

DECODER_PROMPT = "The Eiffel Tower is located in the city of"
BERT_PROMPT = "The Eiffel Tower is located in the city of [MASK]."


@dataclass(frozen=True)
class FlowKey(Key):
    prompt: str


def flow_key(lm: LoadedModel, prompt: str) -> FlowKey:
    return FlowKey(model_id(lm), prompt)


class FlowJob(PageJob[FlowKey, "FlowContributions"]):
    slot = "fl_flow"
    shared = True

    def defaults(self, lm: LoadedModel) -> FlowKey:
        return flow_key(lm, BERT_PROMPT if lm.info.masked_lm else DECODER_PROMPT)

    def compute(self, lm: LoadedModel, key: FlowKey, progress: Progress | None = None) -> FlowContributions:
        from interp_core.flow import information_flow

        return information_flow(lm, key.prompt, progress=progress)

    def cost(self, lm: LoadedModel, key: FlowKey) -> Cost:
        return Cost(key.model, "flow", flow_flops(lm.info, n_tokens(lm, key.prompt)))


@dataclass(frozen=True)
class NeuronsKey(Key):
    prompt: str
    layer: int
    position: int


def neurons_key(lm: LoadedModel, prompt: str, layer: int, position: int) -> NeuronsKey:
    return NeuronsKey(model_id(lm), prompt, int(layer), int(position))


class FlowNeuronsJob(PageJob[NeuronsKey, "NeuronContributions"]):
    slot = "fl_neurons"
    shared = True

    def compute(self, lm: LoadedModel, key: NeuronsKey, progress: Progress | None = None) -> NeuronContributions:
        from interp_core.flow import neuron_contributions

        return neuron_contributions(lm, key.prompt, key.layer, key.position)

    def cost(self, lm: LoadedModel, key: NeuronsKey) -> Cost:
        return Cost(key.model, "lens", forward_flops(lm.info, n_tokens(lm, key.prompt), layers=key.layer + 1))


FLOW = FlowJob()
FLOW_NEURONS = FlowNeuronsJob()


@dataclass(frozen=True)
class NodeKey(Key):
    prompt: str
    kind: str  # 'resid' or 'mid'
    layer: int
    position: int


def node_key(lm: LoadedModel, prompt: str, kind: str, layer: int, position: int) -> NodeKey:
    return NodeKey(model_id(lm), prompt, kind, int(layer), int(position))


class NodeTokensJob(PageJob[NodeKey, "TokenLists"]):
    slot = "fl_node"
    shared = True

    def compute(self, lm: LoadedModel, key: NodeKey, progress: Progress | None = None) -> TokenLists:
        from interp_core.flow import node_tokens

        return node_tokens(lm, key.prompt, key.kind, key.layer, key.position, k=10)


@dataclass(frozen=True)
class HeadKey(Key):
    prompt: str
    layer: int
    head: int
    destination: int


def head_key(lm: LoadedModel, prompt: str, layer: int, head: int, destination: int) -> HeadKey:
    return HeadKey(model_id(lm), prompt, int(layer), int(head), int(destination))


class HeadTokensJob(PageJob[HeadKey, "TokenLists"]):
    slot = "fl_head"
    shared = True

    def compute(self, lm: LoadedModel, key: HeadKey, progress: Progress | None = None) -> TokenLists:
        from interp_core.flow import head_tokens

        return head_tokens(lm, key.prompt, key.layer, key.head, key.destination, k=10)


NODE_TOKENS = NodeTokensJob()
HEAD_TOKENS = HeadTokensJob()
