"""Where a steering direction comes from: a registry of source kinds, each turning text parameters into a
`Direction` (a d_model vector with its provenance).

Built in: a contrast of prompts (mean activation on A minus mean on B at the steering site), an MLP neuron's
output weight, a residual-stream dimension and a token's unembedding row; vectors.py adds a saved vector file. Other packages
add kinds with `register_source` (e.g. a sparse-autoencoder feature's decoder row) and need nothing else here.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from interp_core.engine.sites import CHOICES, Site
from interp_core.errors import UserError

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

CONTRAST_POSITIONS = {"last": "the last token of each prompt", "all": "every non-special token of each prompt, averaged"}


@dataclass(frozen=True, eq=False)
class Direction:
    """One direction in a site's space (D,), float32 on the CPU, and where it came from."""

    vector: torch.Tensor  # (D,)
    kind: str  # the registry kind that built it
    label: str  # e.g. "contrast ' Love' − ' Hate' at resid_pre 6 (last)"
    model: str | None = None  # model it was taken from (None: unknown, e.g. a bare .npy)
    site: str | None = None  # canonical site it was taken at, e.g. "resid.6" (None: any d_model site)

    @property
    def norm(self) -> float:
        return float(self.vector.norm())

    def to_dict(self) -> dict:
        return {"kind": self.kind, "label": self.label, "model": self.model, "site": self.site, "norm": self.norm,
                "width": int(self.vector.shape[0])}


@dataclass(frozen=True)
class DirectionSpec:
    """A direction described by text (hashable: it goes in job keys and URLs): a kind and its parameters."""

    kind: str
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, kind: str, **params: object) -> DirectionSpec:
        return cls(kind, tuple(sorted((k, str(v)) for k, v in params.items())))

    def get(self, name: str, default: str = "") -> str:
        return dict(self.params).get(name, default)


Builder = Callable[["LoadedModel", Mapping[str, str], Site], Direction]
"""Builds a direction from its text parameters for the given steering site (contrasts are measured there)."""


@dataclass(frozen=True)
class Source:
    kind: str
    help: str
    build: Builder


SOURCES: dict[str, Source] = {}


def register_source(kind: str, help: str, build: Builder) -> None:
    """Make a new direction kind available everywhere (CLI, playground, URL); a later registration replaces one."""
    SOURCES[kind] = Source(kind, help, build)


def build_direction(lm: LoadedModel, spec: DirectionSpec, site: Site) -> Direction:
    """The Direction `spec` names, checked to have the model's width."""
    src = SOURCES.get(spec.kind)
    if src is None:
        raise UserError(f"Unknown direction source '{spec.kind}'; choose one of {', '.join(SOURCES)}.")
    d = src.build(lm, dict(spec.params), site)
    check_width(lm, d)
    return d


def check_width(lm: LoadedModel, d: Direction) -> None:
    w, want = int(d.vector.shape[-1]), lm.adapter.d_model
    if d.vector.ndim != 1 or w != want:
        raise UserError(f"The direction has width {w} but {lm.spec.name} has d_model {want}; "
                        "use a vector saved from this model.")


# --- built-in sources -------------------------------------------------------------------------
def split_prompts(text: str) -> list[str]:
    """One prompt per line ('|' also separates); blank ones dropped."""
    return [p for p in (q.strip() for q in str(text).replace("|", "\n").splitlines()) if p]


def prompt_mean(lm: LoadedModel, prompts: list[str], site: Site, positions: str) -> torch.Tensor:
    """Mean over prompts of each prompt's activation at `site`: its last token, or its non-special tokens' mean (D,)."""
    if positions not in CONTRAST_POSITIONS:
        raise UserError(f"Unknown contrast positions '{positions}'; choose one of {', '.join(CONTRAST_POSITIONS)}.")
    special = torch.tensor(sorted(set(getattr(lm.tokenizer, "all_special_ids", ()))), dtype=torch.long)
    per = []
    for p in prompts:
        enc = lm.encode(p)
        x = lm.run(enc.input_ids, capture=[site], need_logits=False).cache[site][0].float().cpu()  # (T, D)
        if positions == "last":
            per.append(x[-1])
        else:
            keep = ~torch.isin(enc.input_ids[0].cpu(), special)
            per.append(x[keep].mean(0) if keep.any() else x.mean(0))
    return torch.stack(per).mean(0)


def _contrast(lm: LoadedModel, p: Mapping[str, str], site: Site) -> Direction:
    a, b, pos = split_prompts(p.get("a", "")), split_prompts(p.get("b", "")), p.get("positions", "last")
    if not a or not b:
        raise UserError("A contrast needs prompts on both sides (A and B).")
    v = prompt_mean(lm, a, site, pos) - prompt_mean(lm, b, site, pos)
    name = " | ".join(a)[:40] + " − " + " | ".join(b)[:40]
    return Direction(v, "contrast", f"contrast {name} at {site} ({pos})", lm.spec.name, str(site))


def _int(p: Mapping[str, str], name: str, what: str) -> int:
    try:
        return int(str(p.get(name, "")).strip())
    except ValueError:
        raise UserError(f"The {what} must be an integer.") from None


def _neuron(lm: LoadedModel, p: Mapping[str, str], site: Site) -> Direction:
    a = lm.adapter
    layer, index = _int(p, "layer", "neuron's layer"), _int(p, "index", "neuron index")
    CHOICES["mlp"].check_layer(layer, a.n_layers)
    if not 0 <= index < a.d_mlp:
        raise UserError(f"Neuron {index} is out of range: the MLP of block {layer} has neurons 0..{a.d_mlp - 1}.")
    w = a.mlp_down_proj(layer).weight.detach()
    v = w[:, index] if w.shape[0] == a.d_model else w[index]  # nn.Linear (D, M); GPT-2's Conv1D (M, D)
    return Direction(v.float().cpu().clone(), "neuron", f"MLP neuron {layer}:{index} (w_out)", lm.spec.name,
                     f"mlp_neurons.{layer}")


def _resid_dim(lm: LoadedModel, p: Mapping[str, str], site: Site) -> Direction:
    d, D = _int(p, "dim", "residual dimension"), lm.adapter.d_model
    if not 0 <= d < D:
        raise UserError(f"Dimension {d} is out of range; the residual stream has dimensions 0..{D - 1}.")
    v = torch.zeros(D)
    v[d] = 1.0
    return Direction(v, "resid_dim", f"residual dimension {d}", lm.spec.name, None)


def _token(lm: LoadedModel, p: Mapping[str, str], site: Site) -> Direction:
    tok = p.get("token", "")
    tid = lm.token_id(tok)
    v = lm.adapter.unembed_matrix()[tid].detach().float().cpu().clone()  # (D,)
    return Direction(v, "token", f"unembedding of {lm.token_strings([tid])[0]!r}", lm.spec.name, None)


def _feature(lm: LoadedModel, p: Mapping[str, str], site: Site) -> Direction:
    from interp_core.features.writes import feature_direction

    sae = p.get("sae", "").strip()
    if not sae:
        raise UserError("A feature direction needs its SAE (sae=ID; see `python -m interp_core sae list`).")
    v, label, where = feature_direction(lm, sae, _int(p, "feature", "feature index"))
    return Direction(v, "feature", label, lm.spec.name, where)


register_source("contrast", "mean activation on prompt(s) A minus on prompt(s) B, at the steering site", _contrast)
register_source("neuron", "an MLP neuron's output weight (w_out): what the neuron writes", _neuron)
register_source("resid_dim", "the unit vector of one residual-stream dimension", _resid_dim)
register_source("token", "a token's unembedding row (its logit-lens direction)", _token)
register_source("feature", "an SAE feature's decoder row (sae=ID, feature=N): what the feature writes", _feature)
