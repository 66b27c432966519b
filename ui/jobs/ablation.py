"""The ablation playground's jobs: one clean-vs-ablated comparison and a sweep of one intervention over layers,
heads or scales. Keys are built from the page's ab_* widget values (`widget_defaults` seeds them)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from interp_core.ablation import COMPONENTS, DEFAULT_SCALES, NEEDS_REFERENCE
from interp_core.engine.sites import CHOICES, n_site_layers
from interp_core.errors import UserError
from interp_core.estimates import ablate_flops, sweep_flops
from interp_core.results import Progress

from .base import Cost, Key, PageJob, context, model_id, n_tokens

if TYPE_CHECKING:
    from interp_core import LoadedModel
    from interp_core.ablation import Ablation, AblationResult, AblationSweep

EIFFEL = "The Eiffel Tower is located in the city of"


def widget_defaults(lm: LoadedModel) -> dict[str, Any]:
    """Every ab_* widget's default for this model (the page seeds from these; the warm-up runs them)."""
    masked = lm.info.masked_lm
    mask = getattr(lm.tokenizer, "mask_token", None) or "[MASK]"
    return {
        "ab_prompt": f"{EIFFEL} {mask}." if masked else EIFFEL, "ab_target": "paris" if masked else " Paris",
        "ab_site": "mlp_out", "ab_layer": min(3, CHOICES["mlp_out"].top_layer(lm.info.n_layers) or 0), "ab_heads": "",
        "ab_index": "0", "ab_method": "zero", "ab_scale": 0.0, "ab_noise": 1.0, "ab_pos": "all", "ab_pos_list": "-1",
        "ab_cf": "The Colosseum is located in the city of" + (f" {mask}." if masked else ""),
        "ab_ref_self": False, "ab_budget": 2000, "ab_gen": 0 if masked else 10, "ab_topk": 10, "ab_repair": False,
        "ab_sweep": "layers", "ab_metric": "target_prob_delta", "ab_scales": ",".join(f"{s:g}" for s in DEFAULT_SCALES),
    }


@dataclass(frozen=True)
class InterventionKey(Key):
    """What defines the intervention itself (shared by a comparison and a sweep); the optional fields exist only
    for the sites and methods that use them. `reference` is the reference corpus's sha256."""

    prompt: str
    target: str | None
    site: str
    layer: int | None
    method: str
    pos: str
    heads: str | None = None
    index: str | None = None
    scale: float | None = None
    noise: float | None = None
    pos_list: str | None = None
    reference: str | None = None
    budget: int | None = None
    counterfactual: str | None = None
    reference_data: Any = context()  # the loaded reference (a Corpus, or the prompt itself)

    OPTIONAL: ClassVar[tuple[str, ...]] = ("heads", "index", "scale", "noise", "pos_list", "reference", "budget",
                                           "counterfactual")

    def ablation(self) -> Ablation:
        from interp_core.ablation import ablation_from_text

        pos = self.pos if self.pos != "chosen" else (self.pos_list or "")
        return ablation_from_text(self.site, self.layer, self.method, heads=self.heads or "",
                                  indices=self.index or "", scale=self.scale if self.scale is not None else 0.0,
                                  noise_std=self.noise if self.noise is not None else 1.0, positions=pos)

    def common(self) -> dict[str, Any]:
        return dict(target=self.target, reference=self.reference_data, counterfactual=self.counterfactual,
                    budget=int(self.budget if self.budget is not None else 2000))


def _where(lm: LoadedModel, v: Mapping[str, Any], ref_sha: str | None, reference: Any) -> dict[str, Any]:
    site, method, pos = v["ab_site"], v["ab_method"], v["ab_pos"]
    return dict(
        model=model_id(lm), prompt=v["ab_prompt"], target=v["ab_target"] or None, site=site,
        layer=None if site == "embed" else int(v["ab_layer"]), method=method, pos=pos,
        heads=v["ab_heads"] if site == "head" else None, index=v["ab_index"] if site == "neuron" else None,
        scale=float(v["ab_scale"]) if method == "scale" else None,
        noise=float(v["ab_noise"]) if method == "noise" else None,
        pos_list=v["ab_pos_list"] if pos == "chosen" else None,
        reference=ref_sha if method in NEEDS_REFERENCE else None,
        budget=int(v["ab_budget"]) if method in NEEDS_REFERENCE else None,
        counterfactual=v["ab_cf"] if method == "patch" else None, reference_data=reference)


def _validate(lm: LoadedModel, key: InterventionKey) -> None:
    """The cheap checks (lists parse, layer / heads / neurons exist): bad input before any estimate or run."""
    from interp_core.ablation import check_ablation

    if key.method in NEEDS_REFERENCE and key.reference is None:
        raise UserError(f"The {key.method} ablation needs a reference corpus (for its statistics); pick one "
                        "that loads, or use the prompt itself.")
    check_ablation(lm, key.ablation())


@dataclass(frozen=True)
class CompareKey(InterventionKey):
    generate: int = 0
    top_k: int = 10
    self_repair: bool = False


def compare_key(lm: LoadedModel, v: Mapping[str, Any], ref_sha: str | None = None,
                reference: Any = None) -> CompareKey:
    """Every input a comparison depends on, from ab_* widget values."""
    masked = lm.info.masked_lm
    return CompareKey(**_where(lm, v, ref_sha, reference), generate=0 if masked else int(v["ab_gen"]),
                      top_k=int(v["ab_topk"]),
                      self_repair=bool(v["ab_repair"]) and not masked and v["ab_site"] in COMPONENTS)


class CompareJob(PageJob[CompareKey, "AblationResult"]):
    """Clean and ablated runs, greedy generation of both, optionally self-repair."""

    slot = "ab"
    shared = True

    def defaults(self, lm: LoadedModel) -> CompareKey:
        return compare_key(lm, widget_defaults(lm))

    def validate(self, lm: LoadedModel, key: CompareKey) -> None:
        _validate(lm, key)

    def compute(self, lm: LoadedModel, key: CompareKey, progress: Progress | None = None) -> AblationResult:
        from interp_core.ablation import run_ablation

        return run_ablation(lm, key.prompt, key.ablation(), top_k=key.top_k, generate=key.generate,
                            self_repair=key.self_repair, progress=progress, **key.common())

    def cost(self, lm: LoadedModel, key: CompareKey) -> Cost:
        return Cost(key.model, "ablate", ablate_flops(lm.info, n_tokens(lm, key.prompt), key.generate,
                                                      self_repair=key.self_repair, patch=key.method == "patch"))


@dataclass(frozen=True)
class SweepKey(InterventionKey):
    kind: str = "layers"
    scales: str | None = None


def sweep_key(lm: LoadedModel, v: Mapping[str, Any], ref_sha: str | None = None, reference: Any = None) -> SweepKey:
    kind = v["ab_sweep"]
    return SweepKey(**_where(lm, v, ref_sha, reference), kind=kind, scales=v["ab_scales"] if kind == "scale" else None)


class SweepJob(PageJob[SweepKey, "AblationSweep"]):
    """One intervention repeated over every layer, every head or a list of scales, batched."""

    slot = "ab_sweep"
    shared = True

    def validate(self, lm: LoadedModel, key: SweepKey) -> None:
        from interp_core.ablation import parse_scales

        _validate(lm, key)
        if key.kind == "scale":
            parse_scales(key.scales or "")

    def compute(self, lm: LoadedModel, key: SweepKey, progress: Progress | None = None) -> AblationSweep:
        from interp_core.ablation import parse_scales, sweep

        scales = parse_scales(key.scales or "") if key.kind == "scale" else DEFAULT_SCALES
        return sweep(lm, key.prompt, key.ablation(), key.kind, scales=scales, progress=progress, **key.common())

    def cost(self, lm: LoadedModel, key: SweepKey) -> Cost:
        from interp_core.ablation import parse_scales

        info = lm.info
        try:
            points = {"layers": n_site_layers("resid", info.n_layers), "heads": info.n_layers * info.n_heads,
                      "scale": len(parse_scales(key.scales or "0"))}[key.kind]
        except Exception:  # noqa: BLE001 - bad scale text: the run reports it
            points = 1
        return Cost(key.model, "sweep", sweep_flops(info, points, n_tokens(lm, key.prompt)))


COMPARE = CompareJob()
SWEEP = SweepJob()
