"""BERT encoders (bert-base/large-uncased, MiniLM). Post-LN: `attn_out`/`mlp_out` are the dense
outputs before the add & LayerNorm. The unembedding is the whole MLM head `cls.predictions`
(dense, GELU, LayerNorm, decoder); encoder-only checkpoints such as MiniLM have none."""
from __future__ import annotations

from interp_core.engine.adapters.base import Adapter, HookPoint


class BertAdapter(Adapter):
    family = "bert"
    model_types = ("bert",)
    description = "BERT encoders (bert-base-uncased, bert-large-uncased, MiniLM); MLM head when present"
    masked_lm = True

    def _base(self):
        return getattr(self.model, "bert", self.model)

    def blocks(self):
        return list(self._base().encoder.layer)

    def embed_module(self):
        return self._base().embeddings.word_embeddings

    def attn_out_point(self, layer):
        return HookPoint(self.blocks()[layer].attention.output.dense, "output")

    def mlp_out_point(self, layer):
        return HookPoint(self.blocks()[layer].output.dense, "output")

    def attn_o_proj(self, layer):
        return self.blocks()[layer].attention.output.dense

    def mlp_in_point(self, layer):
        return HookPoint(self.blocks()[layer].intermediate, "input")

    def mlp_down_proj(self, layer):
        return self.blocks()[layer].output.dense

    def attn_values_point(self, layer):
        return HookPoint(self.blocks()[layer].attention.self.value, "output")

    def post_add_norms(self, layer):
        block = self.blocks()[layer]
        return block.attention.output.LayerNorm, block.output.LayerNorm

    def attn_module(self, layer):
        return self.blocks()[layer].attention.self

    def attn_layer_kind(self, layer):
        return "bidirectional", None

    @property
    def d_mlp(self):
        return int(self.config.intermediate_size)

    def unembed_module(self):
        cls = getattr(self.model, "cls", None)
        return getattr(cls, "predictions", None)

    def unembed_matrix(self):
        return self.unembed_module().decoder.weight
