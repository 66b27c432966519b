"""The activation distributions page's job: histograms, moments and outliers of one site's activations over a
prompt or a corpus sample."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from interp_core.engine.sites import DIST_SITES
from interp_core.estimates import dist_flops
from interp_core.results import Progress

from .base import Cost, Key, PageJob, context, model_id, n_tokens

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.distributions import DistResult

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
    exclude_first: bool = True
    bins: int = 80
    text: Any = context()  # the loaded Corpus whose sha256 is `corpus`

    OPTIONAL: ClassVar[tuple[str, ...]] = ("prompt", "corpus", "tokens")


def dist_key(lm: LoadedModel, source: str, prompt: str, corpus: Any, tokens: int, site: str, exclude_first: bool,
             bins: int) -> DistKey:
    """`corpus`: the loaded Corpus (used when `source` is "corpus")."""
    if source == "prompt":
        return DistKey(model_id(lm), source, prompt=prompt, site=site, exclude_first=bool(exclude_first),
                       bins=int(bins))
    return DistKey(model_id(lm), source, corpus=corpus.sha256, tokens=int(tokens), site=site,
                   exclude_first=bool(exclude_first), bins=int(bins), text=corpus)


class DistJob(PageJob[DistKey, "DistResult"]):
    slot = "ad"
    shared = True

    def defaults(self, lm: LoadedModel) -> DistKey:
        from interp_core.data import load_corpus

        return dist_key(lm, "corpus", "", load_corpus(DIST_CORPUS), DIST_TOKENS, DIST_SITES[0], True, 80)

    def compute(self, lm: LoadedModel, key: DistKey, progress: Progress | None = None) -> DistResult:
        from interp_core.distributions import activation_distributions, corpus_sample, prompt_sample

        if key.source == "prompt":
            sample = prompt_sample(lm, key.prompt or "")
        else:
            sample = corpus_sample(lm, key.text.text, int(key.tokens or 0), name=key.text.name)
        return activation_distributions(lm, sample, site=key.site, exclude_first=key.exclude_first, bins=key.bins,
                                        progress=progress)

    def cost(self, lm: LoadedModel, key: DistKey) -> Cost:
        n = n_tokens(lm, key.prompt or "") if key.source == "prompt" else int(key.tokens or 0)
        return Cost(key.model, "dist", dist_flops(lm.info, n))


DIST = DistJob()
