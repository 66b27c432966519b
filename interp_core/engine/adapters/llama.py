"""Llama-style decoders (Llama, Mistral, Qwen2): `model.layers`, `self_attn.o_proj`, `mlp.down_proj`, `model.norm`."""
from __future__ import annotations

from interp_core.engine.adapters.base import Adapter, HookPoint


class LlamaAdapter(Adapter):
    family = "llama"
    model_types: tuple[str, ...] = ("llama", "mistral", "qwen2", "qwen3")
    description = "Llama-style decoders (Llama, Mistral, Qwen2/3, SmolLM, TinyLlama)"

    def _base(self):
        return getattr(self.model, "model", self.model)

    def blocks(self):
        return list(self._base().layers)

    def embed_module(self):
        return self._base().embed_tokens

    def attn_out_point(self, layer):
        return HookPoint(self.blocks()[layer].self_attn, "output")

    def mlp_out_point(self, layer):
        return HookPoint(self.blocks()[layer].mlp, "output")

    def attn_o_proj(self, layer):
        return self.blocks()[layer].self_attn.o_proj

    def mlp_down_proj(self, layer):
        return self.blocks()[layer].mlp.down_proj

    def attn_module(self, layer):
        return self.blocks()[layer].self_attn

    def attn_layer_kind(self, layer):
        types = getattr(self.config, "layer_types", None)  # Gemma 2/3, Qwen2/3: per-layer sliding or full
        window = getattr(self.config, "sliding_window", None)
        if types and types[layer] == "sliding_attention" and window:
            return "sliding", int(window)
        return "global", None

    @property
    def d_mlp(self):
        return int(self.config.intermediate_size)

    def final_norm_module(self):
        return self._base().norm

    def unembed_module(self):
        return getattr(self.model, "lm_head", None)
