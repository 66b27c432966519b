"""Gemma 1/2/3 text decoders. Gemma 2/3 normalise each sublayer's output before adding it to the
residual stream, so `attn_out`/`mlp_out` are the post-sublayer norms' outputs (what is really added)."""
from __future__ import annotations

import torch

from interp_core.engine.adapters.base import HookPoint
from interp_core.engine.adapters.llama import LlamaAdapter


class GemmaAdapter(LlamaAdapter):
    family = "gemma"
    model_types: tuple[str, ...] = ("gemma", "gemma2", "gemma3_text")
    description = "Gemma 1/2/3 text decoders (google/gemma-3-270m, gemma-2-2b, …)"

    def attn_out_point(self, layer):
        block = self.blocks()[layer]
        post = getattr(block, "post_attention_layernorm", None)
        if post is not None and hasattr(block, "pre_feedforward_layernorm"):
            return HookPoint(post, "output")  # Gemma 2/3: residual += post_attention_layernorm(attn)
        return HookPoint(block.self_attn, "output")

    def attn_post_norm(self, layer):
        block = self.blocks()[layer]
        if hasattr(block, "pre_feedforward_layernorm"):  # Gemma 2/3 sandwich norms
            return getattr(block, "post_attention_layernorm", None)
        return None

    def mlp_post_norm(self, layer):
        return getattr(self.blocks()[layer], "post_feedforward_layernorm", None)

    def mlp_out_point(self, layer):
        block = self.blocks()[layer]
        post = getattr(block, "post_feedforward_layernorm", None)
        return HookPoint(post if post is not None else block.mlp, "output")

    def finish_logits(self, logits: torch.Tensor) -> torch.Tensor:
        cap = getattr(self.config, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return logits

    def finish_is_identity(self) -> bool:
        return not getattr(self.config, "final_logit_softcapping", None)
