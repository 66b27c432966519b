"""The logit lens page's jobs: the lens of a prompt (kept for every target: a target is a re-read), a target
tracked through kept hidden states, and BERT's masked sweep."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from interp_core.engine.sites import n_site_layers
from interp_core.estimates import lens_flops
from interp_core.results import Progress

from .base import Cost, Key, PageJob, context, model_id, n_tokens

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.lens import LensResult, LensSweep

PAGE_TOP_K = 10  # the lens keeps this many per cell; the page's top-k slider only slices it
DECODER_PROMPT = "The Eiffel Tower is located in the city of"
BERT_PROMPT = "The Eiffel Tower is located in the city of [MASK]."


@dataclass(frozen=True)
class LensKey(Key):
    prompt: str
    method: str = "auto"
    target: str = ""


def lens_key(lm: LoadedModel, prompt: str, method: str, target: str = "") -> LensKey:
    return LensKey(model_id(lm), prompt, method, target or "")


class LensJob(PageJob[LensKey, "LensResult"]):
    """One forward pass plus an unembedding of every layer's hidden state at every position."""

    slot = "ll_lens"
    shared = True

    def defaults(self, lm: LoadedModel) -> LensKey:
        return lens_key(lm, BERT_PROMPT if lm.info.masked_lm else DECODER_PROMPT, "auto")

    def compute(self, lm: LoadedModel, key: LensKey, progress: Progress | None = None) -> LensResult:
        from interp_core.lens import compute_lens

        return compute_lens(lm, key.prompt, key.method, PAGE_TOP_K, key.target or None, progress)

    def cost(self, lm: LoadedModel, key: LensKey) -> Cost:
        n = n_tokens(lm, key.prompt)
        return Cost(key.model, "lens", lens_flops(lm.info, n, n_site_layers("resid", lm.info.n_layers)))


@dataclass(frozen=True)
class RetargetKey(Key):
    prompt: str
    method: str
    target: str
    exact_rank_position: int
    decoded: Any = context()  # the lens of (prompt, method) run for each position's own prediction


class RetargetJob(PageJob[RetargetKey, "LensResult"]):
    """A kept lens tracking another target, with exact ranks at one position: no forward pass."""

    slot = "ll_retarget"

    def compute(self, lm: LoadedModel, key: RetargetKey, progress: Progress | None = None) -> LensResult:
        from interp_core.lens import retarget

        return retarget(lm, key.decoded, key.target, positions=(key.exact_rank_position,), progress=progress)


def retarget_key(lens: LensKey, decoded: LensResult, target: str, position: int) -> RetargetKey:
    """The key of `decoded` (the lens of `lens`) tracking `target`, exact at `position` (or the default one)."""
    from interp_core.lens import default_position

    T = len(decoded.tokens)
    pos = position if 0 <= position < T else default_position(decoded)
    if decoded.masked_lm and pos not in decoded.mask_positions:
        pos = default_position(decoded)
    return RetargetKey(lens.model, lens.prompt, lens.method, target, pos, decoded)


@dataclass(frozen=True)
class SweepKey(Key):
    prompt: str
    method: str


class MaskedSweepJob(PageJob[SweepKey, "LensSweep"]):
    """BERT: mask each token in turn (one forward pass per token) and follow the original token through the layers."""

    slot = "ll_sweep"
    shared = True

    def compute(self, lm: LoadedModel, key: SweepKey, progress: Progress | None = None) -> LensSweep:
        from interp_core.lens import masked_sweep

        return masked_sweep(lm, key.prompt, key.method, progress)

    def cost(self, lm: LoadedModel, key: SweepKey) -> Cost:
        n = n_tokens(lm, key.prompt)
        return Cost(key.model, "lens", lens_flops(lm.info, n * n, n_site_layers("resid", lm.info.n_layers)))


LENS = LensJob()
RETARGET = RetargetJob()
MASKED_SWEEP = MaskedSweepJob()
