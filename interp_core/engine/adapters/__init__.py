"""Registry of architecture adapters: one per family, looked up by the HF config's model_type."""
from __future__ import annotations

from torch import nn

from interp_core.errors import UnsupportedModelError
from interp_core.engine.adapters.base import Adapter, HookPoint, first_tensor
from interp_core.engine.adapters.bert import BertAdapter
from interp_core.engine.adapters.gemma import GemmaAdapter
from interp_core.engine.adapters.gpt2 import GPT2Adapter
from interp_core.engine.adapters.gpt_neo import GPTNeoAdapter
from interp_core.engine.adapters.llama import LlamaAdapter

ADAPTERS: tuple[type[Adapter], ...] = (GPT2Adapter, GPTNeoAdapter, BertAdapter, GemmaAdapter, LlamaAdapter)


def supported_families() -> str:
    return "; ".join(a.description for a in ADAPTERS)


def adapter_class_for(model_type: str) -> type[Adapter]:
    for cls in ADAPTERS:
        if model_type in cls.model_types:
            return cls
    raise UnsupportedModelError(
        f"Model type '{model_type}' is not supported; supported families: {supported_families()}."
    )


def adapter_for(model: nn.Module) -> Adapter:
    return adapter_class_for(model.config.model_type)(model)


__all__ = ["ADAPTERS", "Adapter", "HookPoint", "adapter_for", "adapter_class_for", "first_tensor", "supported_families"]
