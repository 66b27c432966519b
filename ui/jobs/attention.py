"""The attention patterns of a prompt (every layer and head), computed once per model and prompt for every
session: the lens page, the ablation playground and DLA's clicked head share them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from interp_core.results import Progress

from .base import Key, PageJob, model_id

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.components import AttentionPatterns


@dataclass(frozen=True)
class PatternsKey(Key):
    prompt: str


def patterns_key(lm: LoadedModel, prompt: str) -> PatternsKey:
    return PatternsKey(model_id(lm), prompt)


class PatternsJob(PageJob[PatternsKey, "AttentionPatterns"]):
    slot = "attn_patterns"
    shared = True

    def compute(self, lm: LoadedModel, key: PatternsKey, progress: Progress | None = None) -> AttentionPatterns:
        from interp_core.components import attention_patterns

        return attention_patterns(lm, key.prompt, progress=progress)


PATTERNS = PatternsJob()
