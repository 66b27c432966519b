"""The neuron explorer's feature jobs: which SAE features fire on a typed prompt, one feature ablated on a prompt
(clean vs ablated, the SAE's error term kept), and training a TopK SAE for a layer when none is available."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from interp_core.estimates import ablate_flops, sae_train_flops
from interp_core.results import Progress

from .base import LONG, Cost, Key, PageJob, context, model_id, n_tokens

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.ablation import AblationResult
    from interp_core.features.prompt import PromptFeatures
    from interp_core.features.train import TrainReport

TRAIN_DEFAULTS = dict(latents=2048, k=32, epochs=2, max_tokens=16384)


def sae_options(lm: LoadedModel) -> list[str]:
    """The ids of the SAEs trained here for this model (what the SAE picker offers)."""
    from interp_core.features import list_trained

    name = lm.spec.name.rstrip("/").split("/")[-1].lower()
    return [s["id"] for s in list_trained() if str(s["model"]).rstrip("/").split("/")[-1].lower() == name]


def saes_reading(lm: LoadedModel, kind: str, layer: int) -> list[str]:
    """The trained SAEs for this model that read site (kind, layer), e.g. the hidden state of a logit-lens row."""
    from interp_core.engine.sites import Site
    from interp_core.errors import UserError
    from interp_core.features import attach

    out = []
    for sae in sae_options(lm):
        try:
            site, s = attach(lm, sae)
        except UserError:
            continue
        from interp_core.features.store import sites_of

        if sites_of(s)[0] == Site(kind, layer):
            out.append(sae)
    return out


def feature_site(lm: LoadedModel, sae: str) -> tuple[str, int, int]:
    """(the explorer's site name 'sae:ID', the layer it reads, its number of latents); a UserError if it does not fit."""
    from interp_core.features import attach

    site, s = attach(lm, sae)
    return f"sae:{sae}", int(site.layer or 0), s.d_sae


def write_place(kind: str, layer: int, n_layers: int) -> tuple[str, int]:
    """Where a feature's write enters the residual stream as a steering (site, layer): the hidden state an SAE on
    the residual stream reads, or the output of the attention / MLP sublayer it reads or writes through."""
    from interp_core.engine.sites import resid_block_site

    if kind == "resid":
        return resid_block_site(layer, n_layers)
    return ("attn_out" if kind in ("attn_out", "attn_heads") else "mlp_out"), layer


def feature_steer_place(lm: LoadedModel, sae: str) -> tuple[str, int]:
    """The steering (site, layer) where this SAE's features write (a UserError if the SAE does not fit)."""
    from interp_core.features import attach
    from interp_core.features.store import sites_of

    _, s = attach(lm, sae)
    base, out = sites_of(s)
    target = out or base
    return write_place(target.kind, int(target.layer or 0), lm.info.n_layers)


@dataclass(frozen=True)
class FeaturesKey(Key):
    prompt: str
    sae: str
    k: int = 8


class FeaturesJob(PageJob[FeaturesKey, "PromptFeatures"]):
    """Which features fire on the prompt: per token and across it."""

    slot = "ne_features"
    shared = True

    def compute(self, lm: LoadedModel, key: FeaturesKey, progress: Progress | None = None) -> PromptFeatures:
        from interp_core.features.prompt import prompt_features

        return prompt_features(lm, key.prompt, key.sae, k=key.k)


@dataclass(frozen=True)
class FeatureAblationKey(Key):
    prompt: str
    sae: str
    feature: int
    target: str | None = None


class FeatureAblationJob(PageJob[FeatureAblationKey, "AblationResult"]):
    """Clean vs the prompt with one feature's decoded contribution removed at every position."""

    slot = "ne_feature_ablation"
    shared = True

    def compute(self, lm: LoadedModel, key: FeatureAblationKey, progress: Progress | None = None) -> AblationResult:
        from interp_core.ablation import Ablation, run_ablation
        from interp_core.features import attach

        layer = attach(lm, key.sae)[0].layer
        ab = Ablation("feature", layer, "zero", indices=(key.feature,), sae=key.sae)
        return run_ablation(lm, key.prompt, ab, target=key.target or None, top_k=8, progress=progress)

    def cost(self, lm: LoadedModel, key: FeatureAblationKey) -> Cost:
        return Cost(key.model, "ablate", ablate_flops(lm.info, n_tokens(lm, key.prompt)))


@dataclass(frozen=True)
class TrainKey(Key):
    corpus: str  # the corpus's sha256
    site: str
    layer: int
    latents: int
    k: int
    epochs: int
    max_tokens: int
    seq_len: int = 128
    tokens: Any = context()  # the tokenized corpus


def train_key(lm: LoadedModel, tc: Any, corpus_sha: str, layer: int, seq_len: int = 128, **kw: int) -> TrainKey:
    p = {**TRAIN_DEFAULTS, **kw}
    return TrainKey(model_id(lm), corpus_sha, "resid_post", int(layer), int(p["latents"]), int(p["k"]),
                    int(p["epochs"]), int(p["max_tokens"]), int(seq_len), tokens=tc)


class TrainJob(PageJob[TrainKey, "TrainReport"]):
    """A TopK SAE on the residual stream after block L, saved under the cache (then offered by the SAE picker)."""

    slot = "ne_sae_train"
    kind = LONG

    def compute(self, lm: LoadedModel, key: TrainKey, progress: Progress | None = None) -> TrainReport:
        from interp_core.features.train import train_sae

        return train_sae(lm, key.tokens, site=key.site, layer=key.layer, latents=key.latents, k=key.k,
                         epochs=key.epochs, max_tokens=key.max_tokens, seq_len=key.seq_len, progress=progress)

    def cost(self, lm: LoadedModel, key: TrainKey) -> Cost:
        n = int(key.tokens.n_tokens) if key.tokens is not None else key.max_tokens
        return Cost(key.model, "sae_train", sae_train_flops(lm.info, min(n, key.max_tokens), key.epochs, key.layer,
                                                            lm.info.d_model, key.latents))


FEATURES = FeaturesJob()
FEATURE_ABLATION = FeatureAblationJob()
TRAIN = TrainJob()
