"""GPT-Neo family (EleutherAI/gpt-neo-125m, …): like GPT-2, attention nested in `attn.attention`."""
from __future__ import annotations

from interp_core.engine.adapters.base import Adapter, HookPoint


class GPTNeoAdapter(Adapter):
    family = "gpt_neo"
    model_types = ("gpt_neo",)
    description = "GPT-Neo (EleutherAI/gpt-neo-125m, -1.3B, -2.7B)"

    def _base(self):
        return self.model.transformer

    def blocks(self):
        return list(self._base().h)

    def embed_module(self):
        return self._base().wte

    def attn_out_point(self, layer):
        return HookPoint(self.blocks()[layer].attn, "output")

    def mlp_out_point(self, layer):
        return HookPoint(self.blocks()[layer].mlp, "output")

    def attn_o_proj(self, layer):
        return self.blocks()[layer].attn.attention.out_proj

    def mlp_down_proj(self, layer):
        return self.blocks()[layer].mlp.c_proj

    @property
    def d_mlp(self):
        return int(self.config.intermediate_size or 4 * self.config.hidden_size)

    def final_norm_module(self):
        return self._base().ln_f

    def unembed_module(self):
        return getattr(self.model, "lm_head", None)
