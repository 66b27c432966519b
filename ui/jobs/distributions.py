"""The activation distributions page's job: one pass over a prompt or a corpus sample keeps the summaries of one
site's activations (interp_core.distributions.measure); the first-token choice and the bin count are views of
them (`KeptDistributions.view`, milliseconds), so they are not part of the key and never re-run the model."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from interp_core.engine.sites import DIST_SITES
from interp_core.estimates import dist_flops
from interp_core.results import Progress

from .base import Cost, Key, PageJob, context, model_id, n_tokens

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.distributions import KeptDistributions

DIST_PROMPT = "Alice looked round eagerly, and found that it was the Red Queen."
DIST_CORPUS = "builtin:looking-glass"
DIST_TOKENS = 1000


@dataclass(frozen=True)
class DistKey(Key):
    """`prompt` for source "prompt"; `corpus` (its sha256) and `tokens` (the budget) for source "corpus"."""

    source: str
    prompt: str | None = None
    corpus: str | None = None
    tokens: int | None = None
    site: str = DIST_SITES[0]
    text: Any = context()  # the loaded Corpus whose sha256 is `corpus`

    OPTIONAL: ClassVar[tuple[str, ...]] = ("prompt", "corpus", "tokens")


def dist_key(lm: LoadedModel, source: str, prompt: str, corpus: Any, tokens: int, site: str) -> DistKey:
    """`corpus`: the loaded Corpus (used when `source` is "corpus")."""
    if source == "prompt":
        return DistKey(model_id(lm), source, prompt=prompt, site=site)
    return DistKey(model_id(lm), source, corpus=corpus.sha256, tokens=int(tokens), site=site, text=corpus)


class DistJob(PageJob[DistKey, "KeptDistributions"]):
    slot = "ad"
    shared = True

    def defaults(self, lm: LoadedModel) -> DistKey:
        from interp_core.data import load_corpus

        return dist_key(lm, "corpus", "", load_corpus(DIST_CORPUS), DIST_TOKENS, DIST_SITES[0])

    def compute(self, lm: LoadedModel, key: DistKey, progress: Progress | None = None) -> KeptDistributions:
        from interp_core.distributions import corpus_sample, measure, prompt_sample

        if key.source == "prompt":
            sample = prompt_sample(lm, key.prompt or "")
        else:
            sample = corpus_sample(lm, key.text.text, int(key.tokens or 0), name=key.text.name)
        return measure(lm, sample, site=key.site, progress=progress)

    def cost(self, lm: LoadedModel, key: DistKey) -> Cost:
        n = n_tokens(lm, key.prompt or "") if key.source == "prompt" else int(key.tokens or 0)
        return Cost(key.model, "dist", dist_flops(lm.info, n))


DIST = DistJob()
