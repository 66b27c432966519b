"""The playground's steering jobs: one clean-vs-steered comparison with both continuations, and a sweep of the
strength α. Keys are built from the page's sv_* widget values (`widget_defaults` seeds them); an uploaded
vector is kept per session and travels in the key as context, named by its hash."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from interp_core.ablation.steer_run import EXAMPLE
from interp_core.engine.sites import CHOICES
from interp_core.errors import UserError
from interp_core.estimates import ablate_flops
from interp_core.results import Progress

from .base import LONG, Cost, Key, PageJob, context, model_id, n_tokens

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.ablation.directions import Direction, DirectionSpec
    from interp_core.ablation.steer import Steer
    from interp_core.ablation.steer_results import SteerResult, SteerSweep

SOURCES = ("contrast", "neuron", "resid_dim", "token", "feature", "upload")
SOURCE_LABELS = {"contrast": "contrast of prompts (A − B)", "neuron": "an MLP neuron's output weight",
                 "resid_dim": "a residual dimension", "token": "a token's unembedding row", "feature": "an SAE feature's decoder direction",
                 "upload": "an uploaded vector (.npy / .safetensors)"}


def widget_defaults(lm: LoadedModel) -> dict[str, Any]:
    """Every sv_* widget's default for this model (the page seeds from these; the warm-up runs them)."""
    ex = EXAMPLE  # the default example (interp_core.ablation.steer_run.EXAMPLE)
    layer = min(ex.layer, CHOICES["resid_pre"].top_layer(lm.info.n_layers) or 0)
    return {"sv_prompt": ex.prompt, "sv_src": "contrast", "sv_a": ex.a, "sv_b": ex.b,
            "sv_cpos": "last", "sv_neuron": f"{layer}:0", "sv_dim": 0, "sv_token": " love", "sv_upload": "",
            "sv_sae": "", "sv_feature": 0,
            "sv_site": ex.site, "sv_layer": layer, "sv_alpha": ex.alpha, "sv_unit": ex.unit,
            "sv_pos": "all", "sv_raw": False, "sv_gen": 0 if lm.info.masked_lm else 20, "sv_temp": 0.0,
            "sv_seed": 0, "sv_alphas": ex.alphas, "sv_targets": ""}


def direction_spec(v: Mapping[str, Any]) -> DirectionSpec:
    """The direction the sv_* values name (text only: it is part of the key and of the URL)."""
    from interp_core.ablation.directions import DirectionSpec

    src = v["sv_src"]
    if src == "contrast":
        return DirectionSpec.of("contrast", a=v["sv_a"], b=v["sv_b"], positions=v["sv_cpos"])
    if src == "neuron":
        layer, _, index = str(v["sv_neuron"]).partition(":")
        if not index:
            raise UserError("Name the neuron as LAYER:INDEX, e.g. 3:120.")
        return DirectionSpec.of("neuron", layer=layer, index=index)
    if src == "resid_dim":
        return DirectionSpec.of("resid_dim", dim=v["sv_dim"])
    if src == "token":
        return DirectionSpec.of("token", token=v["sv_token"])
    if src == "feature":
        if not str(v["sv_sae"]).strip():
            raise UserError("Pick an SAE for the feature (train one in the neuron explorer, or run "
                            "`python -m interp_core sae train …`).")
        return DirectionSpec.of("feature", sae=str(v["sv_sae"]).strip(), feature=v["sv_feature"])
    if src == "upload":
        return DirectionSpec.of("upload", id=v["sv_upload"])
    raise UserError(f"Unknown direction source '{src}'; choose one of {', '.join(SOURCES)}.")


def parse_targets(text: str) -> tuple[str, ...]:
    """' love| hate' -> (' love', ' hate'): '|' separates target tokens, their leading spaces kept."""
    return tuple(t for t in str(text or "").split("|") if t.strip())


@dataclass(frozen=True)
class SteerKey(Key):
    """What defines one steering run: the prompt, the direction, where and how strongly it is added."""

    prompt: str
    direction: DirectionSpec
    site: str
    layer: int
    alpha: float
    unit: str
    positions: str
    raw: bool
    generate: int
    temperature: float  # 0 = greedy
    seed: int
    targets: tuple[str, ...]
    upload: Any = context()  # the session's uploaded Direction for direction.kind == "upload"

    def steer(self) -> Steer:
        from interp_core.ablation.steer import Steer

        return Steer(self.site, int(self.layer), float(self.alpha), self.unit, self.positions, bool(self.raw))

    def sampling(self) -> Any:
        from interp_core.ablation.generation import Sampling

        return Sampling(float(self.temperature), int(self.seed)) if self.temperature > 0 else None

    def direction_for(self, lm: LoadedModel) -> Direction | DirectionSpec:
        if self.direction.kind != "upload":
            return self.direction
        if self.upload is None:
            raise UserError(f"The uploaded vector '{self.direction.get('id')}' is kept only in the session that "
                            "uploaded it; upload the file again here.")
        return self.upload


def steer_key(lm: LoadedModel, v: Mapping[str, Any], upload: Any = None) -> SteerKey:
    masked = lm.info.masked_lm
    return SteerKey(model_id(lm), v["sv_prompt"], direction_spec(v), v["sv_site"], int(v["sv_layer"]),
                    float(v["sv_alpha"]), v["sv_unit"], v["sv_pos"], bool(v["sv_raw"]),
                    0 if masked else int(v["sv_gen"]), float(v["sv_temp"]), int(v["sv_seed"]),
                    parse_targets(v["sv_targets"]), upload=upload)


def _validate(lm: LoadedModel, key: SteerKey) -> None:
    from interp_core.ablation.steer import check_steer

    check_steer(lm, key.steer())
    key.direction_for(lm)
    if not key.temperature >= 0:
        raise UserError("The temperature must be ≥ 0 (0 = greedy).")


class SteerJob(PageJob[SteerKey, "SteerResult"]):
    """Clean and steered runs, and both continuations generated together (KV cache, one batch of two rows)."""

    slot = "sv"
    shared = True

    def defaults(self, lm: LoadedModel) -> SteerKey:
        return steer_key(lm, widget_defaults(lm))

    def validate(self, lm: LoadedModel, key: SteerKey) -> None:
        _validate(lm, key)

    def compute(self, lm: LoadedModel, key: SteerKey, progress: Progress | None = None) -> SteerResult:
        from interp_core.ablation.steer_run import run_steer

        return run_steer(lm, key.prompt, key.direction_for(lm), key.steer(), targets=key.targets,
                         generate=key.generate, sample=key.sampling(), progress=progress)

    def cost(self, lm: LoadedModel, key: SteerKey) -> Cost:
        return Cost(key.model, "ablate", ablate_flops(lm.info, n_tokens(lm, key.prompt), key.generate))


@dataclass(frozen=True)
class SteerSweepKey(SteerKey):
    alphas: str = EXAMPLE.alphas


def sweep_key(lm: LoadedModel, v: Mapping[str, Any], upload: Any = None) -> SteerSweepKey:
    """The sweep's key: the comparison's, less its α (every point carries its own), plus the α values."""
    k = dataclasses.replace(steer_key(lm, v, upload), alpha=0.0)
    return SteerSweepKey(**{f.name: getattr(k, f.name) for f in dataclasses.fields(k)}, alphas=str(v["sv_alphas"]))


class SteerSweepJob(PageJob[SteerSweepKey, "SteerSweep"]):
    """α through a range, every α a row of the same batches; per α the targets' probabilities and a continuation."""

    slot = "sv_sweep"
    shared = True
    kind = LONG

    def defaults(self, lm: LoadedModel) -> SteerSweepKey:
        return sweep_key(lm, widget_defaults(lm))

    def validate(self, lm: LoadedModel, key: SteerSweepKey) -> None:
        from interp_core.ablation.steer_run import parse_alphas

        _validate(lm, key)
        parse_alphas(key.alphas)

    def compute(self, lm: LoadedModel, key: SteerSweepKey, progress: Progress | None = None) -> SteerSweep:
        from interp_core.ablation.steer_run import parse_alphas, steer_sweep

        return steer_sweep(lm, key.prompt, key.direction_for(lm), key.steer(), alphas=parse_alphas(key.alphas),
                           targets=key.targets, generate=key.generate, sample=key.sampling(), progress=progress)

    def cost(self, lm: LoadedModel, key: SteerSweepKey) -> Cost:
        from interp_core.ablation.steer_run import parse_alphas

        try:
            rows = len(parse_alphas(key.alphas)) + 1
        except UserError:
            rows = 2
        return Cost(key.model, "ablate", ablate_flops(lm.info, n_tokens(lm, key.prompt), key.generate) * rows / 2)


STEER = SteerJob()
STEER_SWEEP = SteerSweepJob()
