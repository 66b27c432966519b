"""The adapter contract: map canonical sites to one architecture family's HF modules."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from interp_core.engine.argmax import argmax_tokens, screenable
from interp_core.engine.placement import module_device
from interp_core.errors import UserError
from interp_core.engine.sites import Site, n_site_layers, site_width


@dataclass(frozen=True)
class HookPoint:
    """Where a site lives: a module and whether we read its first input, its (first) output, or the
    attention weights it returns second (`weights`: capture only)."""

    module: nn.Module
    where: Literal["input", "output", "weights"]


class Adapter:
    """Base adapter. Subclasses set `family`, `model_types`, and implement the module accessors."""

    family: str = ""
    model_types: tuple[str, ...] = ()
    description: str = ""
    masked_lm: bool = False  # BERT-style: predictions at [MASK] positions, bidirectional

    def __init__(self, model: nn.Module):
        self.model = model
        self.config = model.config

    # --- module accessors (per family) ---------------------------------------------------
    def blocks(self) -> list[nn.Module]:
        raise NotImplementedError

    def embed_module(self) -> nn.Module:
        raise NotImplementedError

    def attn_out_point(self, layer: int) -> HookPoint:
        raise NotImplementedError

    def mlp_out_point(self, layer: int) -> HookPoint:
        raise NotImplementedError

    def attn_o_proj(self, layer: int) -> nn.Module:
        """The attention output projection; its input is the per-head output (B, T, H*Dh)."""
        raise NotImplementedError

    def mlp_down_proj(self, layer: int) -> nn.Module:
        """The MLP down projection; its input is the neuron activations (B, T, M)."""
        raise NotImplementedError

    def mlp_in_point(self, layer: int) -> HookPoint:
        """The MLP's input after the pre-MLP norm (B, T, D): the block's `mlp` module's first input."""
        return HookPoint(self.blocks()[layer].mlp, "input")

    def attn_module(self, layer: int) -> nn.Module:
        """The attention module that returns (output, post-softmax weights (B, H, Tq, Tk)) under eager attention."""
        raise NotImplementedError

    def attn_values_point(self, layer: int) -> HookPoint:
        """The value projection's output (or a fused projection holding the values), read by `values_view`."""
        raise NotImplementedError

    def values_view(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        """(B, T, H_kv, Dh) values from the output of `attn_values_point`'s module (B, T, H_kv*Dh)."""
        return x.view(*x.shape[:-1], self.n_kv_heads, self.d_head)

    def post_add_norms(self, layer: int) -> tuple[nn.Module | None, nn.Module | None]:
        """Post-norm blocks (BERT): the norms applied after the attention and the MLP are added to the residual
        stream; (None, None) for pre-norm blocks, whose residual stream is a plain sum."""
        return None, None

    def attn_post_norm(self, layer: int) -> nn.Module | None:
        """A norm applied to the attention output before it is added to the residual stream (Gemma 2/3), else None."""
        return None

    def mlp_post_norm(self, layer: int) -> nn.Module | None:
        """A norm applied to the MLP output before it is added to the residual stream (Gemma 2/3), else None."""
        return None

    def attn_layer_kind(self, layer: int) -> tuple[str, int | None]:
        """('global', None), or ('sliding', window) for a layer that attends only to the last `window` keys."""
        return "global", None

    @contextmanager
    def eager_attention(self) -> Iterator[None]:
        """Run the model with HF's eager attention (the only kind that returns weights) until the block ends."""
        configs: dict[int, Any] = {id(c): c for c in (getattr(m, "config", None) for m in self.model.modules())
                   if hasattr(c, "_attn_implementation_internal")}
        before = {k: c._attn_implementation_internal for k, c in configs.items()}
        try:
            for c in configs.values():
                c._attn_implementation_internal = "eager"
            yield
        finally:
            for k, c in configs.items():
                c._attn_implementation_internal = before[k]

    def final_norm_module(self) -> nn.Module | None:
        return None

    def unembed_module(self) -> nn.Module | None:
        """Decoder: LM head. BERT: the whole `cls.predictions` module. None when there is no LM head."""
        return None

    # --- shape ------------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        return len(self.blocks())

    @property
    def d_model(self) -> int:
        return int(self.config.hidden_size)

    @property
    def n_heads(self) -> int:
        return int(self.config.num_attention_heads)

    @property
    def n_kv_heads(self) -> int:
        """Key/value heads: fewer than n_heads under grouped-query attention, query head h reads kv head h // group."""
        return int(getattr(self.config, "num_key_value_heads", None) or self.n_heads)

    @property
    def d_head(self) -> int:
        return int(getattr(self.config, "head_dim", None) or self.d_model // self.n_heads)

    @property
    def d_mlp(self) -> int:
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        return int(self.config.vocab_size)

    @property
    def n_ctx(self) -> int:
        for name in ("n_positions", "max_position_embeddings"):
            v = getattr(self.config, name, None)
            if v:
                return int(v)
        return 2048

    @property
    def has_lm_head(self) -> bool:
        return self.unembed_module() is not None

    # --- sites --------------------------------------------------------------------------------
    def site_width(self, site: Site) -> int:
        """Size of the last dimension of a site (heads: H*Dh before reshaping)."""
        return site_width(site.kind, self)

    def check_site(self, site: Site) -> None:
        """Raise a UserError when the site's layer does not exist in this model."""
        if site.layer is None:
            if site.kind in ("final_norm", "logits") and not self.has_lm_head and site.kind == "logits":
                raise UserError(f"This {self.family} model has no LM head, so it has no logits.")
            return
        top = n_site_layers(site.kind, self.n_layers) - 1
        if not 0 <= site.layer <= top:
            raise UserError(f"Layer {site.layer} is out of range for {site.kind}: this model has layers 0..{top}.")

    def hook_point(self, site: Site) -> HookPoint:
        self.check_site(site)
        k, layer = site.kind, site.layer if site.layer is not None else 0  # None only for sites without layers
        if k == "embed":
            return HookPoint(self.embed_module(), "output")
        if k == "resid":
            blocks = self.blocks()
            return HookPoint(blocks[0], "input") if layer == 0 else HookPoint(blocks[layer - 1], "output")
        if k == "attn_out":
            return self.attn_out_point(layer)
        if k == "mlp_out":
            return self.mlp_out_point(layer)
        if k == "attn_heads":
            return HookPoint(self.attn_o_proj(layer), "input")
        if k == "mlp_neurons":
            return HookPoint(self.mlp_down_proj(layer), "input")
        if k == "mlp_in":
            return self.mlp_in_point(layer)
        if k == "sae":
            raise UserError("An SAE site is hooked where its SAE reads; resolve it through its codec first.")
        if k == "attn_pattern":
            return HookPoint(self.attn_module(layer), "weights")
        if k == "attn_values":
            return self.attn_values_point(layer)
        if k == "final_norm":
            norm = self.final_norm_module()
            if norm is None:
                raise UserError(f"The {self.family} family has no final norm.")
            return HookPoint(norm, "output")
        if k == "logits":
            head = self.unembed_module()
            if head is None:
                raise UserError(f"This {self.family} model has no LM head.")
            return HookPoint(head, "output")
        raise UserError(f"Unknown site {site}.")

    # --- decoding (logit lens) -------------------------------------------------------------
    def decode_resid(self, resid: torch.Tensor) -> torch.Tensor:
        """Residual stream (..., D) -> logits (..., V) through final norm and unembedding, as the model does."""
        head = self.unembed_module()
        if head is None:
            raise UserError(f"This {self.family} model has no LM head, so there is nothing to decode into.")
        norm = self.final_norm_module()
        resid = resid.to(module_device(norm if norm is not None else head, resid.device))  # split models
        h = norm(resid) if norm is not None else resid
        return self.finish_logits(head(h.to(module_device(head, h.device))))

    def greedy_tokens(self, resid: torch.Tensor) -> list[int]:
        """Residual stream rows (R, D) -> the argmax token of each row's logits (what greedy decoding picks). On a
        CPU a large unembedding is screened in float16 and the few contenders recomputed (engine/argmax.py)."""
        head = self.unembed_module()
        if head is not None and screenable(head, self.finish_is_identity()):
            norm = self.final_norm_module()
            with torch.inference_mode():
                h = norm(resid.to(module_device(norm, resid.device))) if norm is not None else resid
                toks = argmax_tokens(head, h.to(head.weight.device))
            if toks is not None:
                return toks
        return self.decode_resid(resid).float().argmax(-1).tolist()

    def finish_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """Family-specific post-processing of the head output (e.g. Gemma's logit soft-capping)."""
        return logits

    def finish_is_identity(self) -> bool:
        """Whether finish_logits leaves logits unchanged (then logit moments follow from the head's Gram matrix)."""
        return True

    def unembed_matrix(self) -> torch.Tensor:
        """The (V, D) decoder weight, for the naive dot-product lens."""
        head = self.unembed_module()
        if head is None:
            raise UserError(f"This {self.family} model has no LM head.")
        return head.weight


def first_tensor(x):
    """The first tensor of a module's output (tensor or tuple)."""
    return x if isinstance(x, torch.Tensor) else x[0]
