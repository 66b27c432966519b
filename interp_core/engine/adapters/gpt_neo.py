"""GPT-Neo family (EleutherAI/gpt-neo-125m, …): GPT-2's layout, with attention nested in `attn.attention`."""
from __future__ import annotations

from interp_core.engine.adapters.base import HookPoint
from interp_core.engine.adapters.gpt2 import GPT2Adapter


class GPTNeoAdapter(GPT2Adapter):
    family = "gpt_neo"
    model_types = ("gpt_neo",)
    description = "GPT-Neo (EleutherAI/gpt-neo-125m, -1.3B, -2.7B)"

    def attn_o_proj(self, layer):
        return self.blocks()[layer].attn.attention.out_proj

    def attn_values_point(self, layer):
        return HookPoint(self.blocks()[layer].attn.attention.v_proj, "output")

    def values_view(self, layer, x):
        return x.view(*x.shape[:-1], self.n_kv_heads, self.d_head)

    def attn_module(self, layer):
        return self.blocks()[layer].attn.attention

    def attn_layer_kind(self, layer):
        local = self.config.attention_layers[layer] == "local"
        return ("sliding", int(self.config.window_size)) if local else ("global", None)

    @property
    def d_mlp(self):
        return int(self.config.intermediate_size or 4 * self.config.hidden_size)
