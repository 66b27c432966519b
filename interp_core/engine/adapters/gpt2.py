"""GPT-2 family (gpt2, distilgpt2, …): pre-LN blocks `transformer.h`, final `ln_f`, tied `lm_head`."""
from __future__ import annotations

from interp_core.engine.adapters.base import Adapter, HookPoint


class GPT2Adapter(Adapter):
    family = "gpt2"
    model_types = ("gpt2",)
    description = "GPT-2 (gpt2, distilgpt2, gpt2-medium, …)"

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
        return self.blocks()[layer].attn.c_proj

    def mlp_down_proj(self, layer):
        return self.blocks()[layer].mlp.c_proj

    def attn_values_point(self, layer):
        return HookPoint(self.blocks()[layer].attn.c_attn, "output")  # fused (B, T, 3D): queries, keys, values

    def values_view(self, layer, x):
        v = x[..., 2 * self.d_model:]
        return v.reshape(*v.shape[:-1], self.n_kv_heads, self.d_head)

    def attn_module(self, layer):
        return self.blocks()[layer].attn

    @property
    def d_mlp(self):
        return int(self.config.n_inner or 4 * self.config.n_embd)

    def final_norm_module(self):
        return self._base().ln_f

    def unembed_module(self):
        return getattr(self.model, "lm_head", None)
