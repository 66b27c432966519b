"""A loaded model: HF module + tokenizer + adapter + per-model lock, and the hooked forward pass."""
from __future__ import annotations

import weakref
from contextlib import nullcontext
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from interp_core.engine.adapters import Adapter
from interp_core.engine.compiled import CompiledBlocks
from interp_core.errors import UserError
from interp_core.paths import shown
from interp_core.engine.hooks import Intervention, StopForward, hooked, last_block_needed, our_hooks
from interp_core.engine.scheduler import PriorityLock
from interp_core.engine.sites import Site


@dataclass(frozen=True)
class ModelSpec:
    """The full identity of a loaded model; used as the cache key everywhere."""

    name: str  # embedded name, hub id or local directory
    revision: str | None = None
    device: str = "cpu"
    dtype: str = "float32"
    device_map: str | None = None  # split over devices (Accelerate): a strategy like "auto" or a canonical JSON map


@dataclass(frozen=True)
class ModelInfo:
    name: str
    family: str
    model_type: str
    n_layers: int
    d_model: int
    d_mlp: int
    n_heads: int
    d_head: int
    vocab_size: int
    n_ctx: int
    has_lm_head: bool
    masked_lm: bool
    device: str
    dtype: str
    source: str


@dataclass(frozen=True)
class Encoded:
    """A tokenized prompt: ids (1, T) on the model's device, and the token strings."""

    input_ids: torch.Tensor
    tokens: tuple[str, ...]
    truncated_from: int | None = None  # original length when the prompt was cut to the context


@dataclass(frozen=True)
class ForwardResult:
    logits: torch.Tensor | None  # (B, T, V) or None after an early exit
    cache: dict[Site, torch.Tensor] = field(default_factory=dict)


LIVE_MODELS: weakref.WeakSet[LoadedModel] = weakref.WeakSet()  # every model in memory, for hook audits


def live_hooks() -> int:
    """Looking Glass hooks registered on any model in memory (0 whenever no run is in progress)."""
    return sum(lm.num_hooks() for lm in list(LIVE_MODELS))


@dataclass(eq=False)
class LoadedModel:
    spec: ModelSpec
    model: torch.nn.Module
    tokenizer: Any
    adapter: Adapter
    source: str
    lock: PriorityLock = field(default_factory=PriorityLock)  # short requests before a long job's next batch
    compiled: CompiledBlocks = field(default_factory=CompiledBlocks)  # torch.compile'd block forwards (see run)

    def __post_init__(self) -> None:
        LIVE_MODELS.add(self)

    @property
    def device(self) -> torch.device:
        """Where inputs go: the model's device, or for a split model the input embedding's execution device."""
        if self.spec.device_map is None:
            return next(self.model.parameters()).device
        from interp_core.engine.placement import module_device

        return module_device(self.adapter.embed_module())

    @property
    def info(self) -> ModelInfo:
        a = self.adapter
        return ModelInfo(
            name=self.spec.name, family=a.family, model_type=self.model.config.model_type,
            n_layers=a.n_layers, d_model=a.d_model, d_mlp=a.d_mlp, n_heads=a.n_heads, d_head=a.d_head,
            vocab_size=a.vocab_size, n_ctx=a.n_ctx, has_lm_head=a.has_lm_head, masked_lm=a.masked_lm,
            device=str(self.device), dtype=str(self.spec.dtype), source=self.source,
        )

    # --- tokens -------------------------------------------------------------------------------
    def encode(self, text: str, *, truncate: bool = False) -> Encoded:
        """Tokenize one prompt with the model's special tokens (BOS / [CLS] … [SEP])."""
        if not isinstance(text, str) or not text.strip():
            raise UserError("The prompt is empty; type some text first.")
        if "\x00" in text:
            raise UserError("The prompt contains NUL characters; remove them and try again.")
        ids = self.tokenizer(text, add_special_tokens=True)["input_ids"]
        n_ctx = self.adapter.n_ctx
        truncated_from = None
        if len(ids) > n_ctx:
            if not truncate:
                raise UserError(
                    f"The prompt is {len(ids):,} tokens long but this model's context is {n_ctx:,} tokens; shorten it."
                )
            truncated_from, ids = len(ids), ids[:n_ctx]
        tensor = torch.tensor([ids], dtype=torch.long, device=self.device)
        return Encoded(tensor, tuple(self.token_strings(ids)), truncated_from)

    def token_strings(self, ids: Iterable[int]) -> list[str]:
        """Readable token strings ('▁Paris' / 'Ġthe' shown as ' Paris' / ' the')."""
        out = []
        for i in ids:
            out.append(self.tokenizer.decode([int(i)], clean_up_tokenization_spaces=False))
        return out

    def token_id(self, token: str) -> int:
        """The id of a string that must be exactly one token (with its leading space, if any)."""
        if not token:
            raise UserError("The target token is empty.")
        ids = self.tokenizer(token, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            strs = self.token_strings(ids[:6])
            pieces = ", ".join(repr(t) for t in strs[:5]) + (", …" if len(ids) > 5 else "")
            raise UserError(f"'{shown(token, 40)}' is {len(ids)} tokens ({pieces}), not a single token; pick one of them.")
        return int(ids[0])

    # --- forward --------------------------------------------------------------------------------
    def run(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, *,
            capture: Iterable[Site] = (), interventions: Mapping[Site, Intervention] | None = None,
            need_logits: bool = True,
            on_capture: Callable[[Site, torch.Tensor], None] | None = None, grad: bool = False,
            compile: bool = False) -> ForwardResult:
        """One hooked forward pass. Without `need_logits`, stops after the last block a capture needs.

        grad=True: autograd stays on (attribution patching only; see `hooked`).
        compile=True: blocks with no hook inside run torch.compile'd forwards (engine/compiled.py; long scans)."""
        capture = list(capture)
        stop = None if need_logits else last_block_needed(capture)
        if not need_logits and not capture:
            stop = last_block_needed([Site("resid", self.adapter.n_layers)])  # the last block: never pay for the LM head
        input_ids = input_ids.to(self.device)
        if attention_mask is not None:
            attention_mask = attention_mask.to(self.device)
        with hooked(self, capture, interventions, stop_after_block=stop, on_capture=on_capture,
                    grad=grad) as h, (self.compiled.active(self.adapter.blocks()) if compile else nullcontext()):
            try:
                out = self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
            except StopForward:
                return ForwardResult(None, h.cache)
            logits = getattr(out, "logits", None)
            return ForwardResult(logits if need_logits else None, h.cache)

    def num_hooks(self) -> int:
        """Looking Glass hooks currently registered on any submodule (0 when nobody is hooked).

        HF registers its own output-recording hooks; only ours (marked `_looking_glass`) are counted.
        """
        return sum(our_hooks(m) for m in self.model.modules())
