"""What to ablate and how: the `Ablation` description, its validation, and the hook function it becomes.

An intervention is a pure function activation -> replacement handed to `lm.run(interventions=...)`; the
weights are never touched and the hook is gone when the run ends. Positions refer to the prompt:
"all" = every position (generated ones too), "last" = the last prompt position, or chosen prompt indices.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from interp_core.errors import UserError
from interp_core.engine.sites import ABLATION_SITES, CHOICES, Site, choice
from interp_core.features.store import attach
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

METHODS: dict[str, str] = {
    "zero": "replace with zeros",
    "mean": "replace with the site's per-dimension mean over the reference corpus",
    "median": "replace with the site's per-dimension median over the reference corpus",
    "noise": "add Gaussian noise, σ = noise_std × the site's per-dimension std over the reference corpus",
    "scale": "multiply by a factor",
    "patch": "replace with the same site's activation on a counterfactual prompt (aligned from the end)",
}
NEEDS_REFERENCE = ("mean", "median", "noise")


@dataclass(frozen=True)
class Ablation:
    """One intervention: where (site, layer, heads / neuron indices), how (method + parameters), at which positions."""

    site: str  # one of sites.ABLATION_SITES, or "feature": latents of the SAE `sae`
    layer: int | None = None  # None only for "embed"
    method: str = "zero"  # one of METHODS
    heads: tuple[int, ...] = ()  # site "head": which heads (empty = every head of the layer)
    indices: tuple[int, ...] = ()  # site "neuron": which MLP neurons; site "feature": which latents (required)
    scale: float = 0.0  # method "scale"
    noise_std: float = 1.0  # method "noise": σ as a multiple of the reference std
    positions: str | tuple[int, ...] = "all"  # "all", "last" or prompt indices (negative = from the end)
    seed: int = 0  # method "noise": the generator seed, so a run is reproducible
    sae: str | None = None  # site "feature": the SAE id; its decoded change is added, its error term kept

    @property
    def hook_site(self) -> Site:
        """The canonical site the hook sits on."""
        if self.site == "feature":
            return Site("sae", self.layer, sae=self.sae or "?")
        return CHOICES[self.site].site(self.layer)

    def at(self, **changes) -> Ablation:
        """A copy with some fields changed (sweeps move the layer, head or scale)."""
        return replace(self, **changes)

    def label(self) -> str:
        where = self.site if self.site == "embed" else f"{self.site} {self.layer}"
        if self.site == "head":
            where += f" head{'s' if len(self.heads) != 1 else ''} {','.join(map(str, self.heads)) or 'all'}"
        if self.site in ("neuron", "feature"):
            where += f" {self.site}{'s' if len(self.indices) != 1 else ''} {','.join(map(str, self.indices))}"
        how = {"scale": f"scale ×{self.scale:g}", "noise": f"noise σ={self.noise_std:g}×std"}.get(self.method, self.method)
        pos = self.positions if isinstance(self.positions, str) else "positions " + ",".join(map(str, self.positions))
        return f"{how} at {where} ({pos})"


def parse_positions(text: str) -> str | tuple[int, ...]:
    """'all' | 'last' | '3,5,-1' -> the Ablation.positions value."""
    t = (text or "").strip().lower()
    if t in ("", "all"):
        return "all"
    if t == "last":
        return "last"
    return parse_ints(t, "positions")


def parse_ints(text: str, what: str) -> tuple[int, ...]:
    """'1, 2,7' -> (1, 2, 7), with a clear message for anything else."""
    out = []
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        try:
            out.append(int(part))
        except ValueError:
            raise UserError(f"'{part}' in the {what} is not an integer; use comma-separated numbers like 0,3,7.") from None
    if not out:
        raise UserError(f"No {what} given; use comma-separated numbers like 0,3,7.")
    return tuple(dict.fromkeys(out))


def check_ablation(lm: LoadedModel, ab: Ablation) -> None:
    """Raise a UserError naming the first thing about `ab` that does not fit this model."""
    a = lm.adapter
    if ab.site == "feature":
        _check_feature(lm, ab)
    else:
        choice(ab.site, ABLATION_SITES)
    if ab.method not in METHODS:
        raise UserError(f"Unknown method '{ab.method}'; choose one of {', '.join(METHODS)}.")
    if ab.site not in ("embed", "feature"):
        if ab.layer is None:
            raise UserError(f"Site '{ab.site}' needs a layer (--layer).")
        a.check_site(ab.hook_site)
    if ab.site == "head":
        for h in ab.heads:
            if not 0 <= h < a.n_heads:
                raise UserError(f"Head {h} is out of range: block {ab.layer} has heads 0..{a.n_heads - 1}.")
    if ab.site == "neuron":
        if not ab.indices:
            raise UserError("Site 'neuron' needs neuron indices (--index 12,40).")
        for i in ab.indices:
            if not 0 <= i < a.d_mlp:
                raise UserError(f"Neuron {i} is out of range: the MLP of block {ab.layer} has neurons 0..{a.d_mlp - 1}.")
    if ab.method == "scale" and not math.isfinite(ab.scale):
        raise UserError("The scale factor must be a finite number.")
    if ab.method == "noise" and not (math.isfinite(ab.noise_std) and ab.noise_std >= 0):
        raise UserError("The noise σ must be a finite number ≥ 0.")


def _check_feature(lm: LoadedModel, ab: Ablation) -> None:
    if not ab.sae:
        raise UserError("Ablating a feature needs an SAE (--sae ID).")
    site, sae = attach(lm, ab.sae)
    if ab.layer != site.layer:
        raise UserError(f"The SAE '{ab.sae}' reads layer {site.layer}, not layer {ab.layer}.")
    if not ab.indices:
        raise UserError("Site 'feature' needs feature indices (--index 12,40).")
    for i in ab.indices:
        if not 0 <= i < sae.d_sae:
            raise UserError(f"Feature {i} is out of range: this SAE has features 0..{sae.d_sae - 1}.")


def resolve_positions(positions: str | Sequence[int], prompt_len: int) -> tuple[int, ...] | None:
    """Prompt positions to ablate (non-negative), or None for every position."""
    if positions == "all":
        return None
    if positions == "last":
        return (prompt_len - 1,)
    assert not isinstance(positions, str), positions  # "all" / "last" are the only words
    out = []
    for p in positions:
        q = p + prompt_len if p < 0 else p
        if not 0 <= q < prompt_len:
            raise UserError(f"Position {p} is outside the prompt, which has positions 0..{prompt_len - 1}.")
        out.append(q)
    return tuple(sorted(set(out)))


def feature_mask(ab: Ablation, feature_shape: tuple[int, ...]) -> torch.Tensor:
    """Boolean mask over one position's features: chosen heads (H, Dh), chosen neurons (M,), or everything."""
    mask = torch.zeros(feature_shape, dtype=torch.bool)
    if ab.site == "head" and ab.heads:
        mask[list(ab.heads)] = True
    elif ab.site in ("neuron", "feature"):
        mask[list(ab.indices)] = True
    else:
        mask[...] = True
    return mask


def patch_offset(prompt_len: int, cf_len: int) -> int:
    """Clean position t takes counterfactual position t + offset (right-aligned: the last tokens meet)."""
    return cf_len - prompt_len


def alignment(clean_tokens: Sequence[str], cf_tokens: Sequence[str]) -> list[dict]:
    """One row per clean prompt position: which counterfactual position patches it (None = left unchanged)."""
    off = patch_offset(len(clean_tokens), len(cf_tokens))
    rows = []
    for t, tok in enumerate(clean_tokens):
        c = t + off
        ok = 0 <= c < len(cf_tokens)
        rows.append({"position": t, "token": tok, "cf_position": c if ok else None,
                     "cf_token": cf_tokens[c] if ok else None})
    return rows


def make_intervention(ab: Ablation, positions: tuple[int, ...] | None, *, prompt_len: int,
                      stats=None, patch=None):
    """The hook function for `ab`: x (B, T, *F) -> same shape, changed only at the chosen positions and features.

    stats: a refstats.RefStats for mean / median / noise; patch: a patching.PatchSource for "patch".
    """
    method = ab.method
    if method in NEEDS_REFERENCE and stats is None:
        raise UserError(f"The {method} method needs a reference corpus; choose one (--reference builtin:looking-glass).")
    if method == "patch" and patch is None:
        raise UserError("Patching needs a counterfactual prompt (--counterfactual TEXT).")
    gen_seed = int(ab.seed)

    def fn(x: torch.Tensor) -> torch.Tensor:  # x: (B, T, D) | (B, T, H, Dh) | (B, T, M)
        T, feat = x.shape[1], tuple(x.shape[2:])
        pos = torch.zeros(T, dtype=torch.bool, device=x.device)
        if positions is None:
            pos[:] = True
        else:
            pos[[p for p in positions if p < T]] = True
        mask = pos.view(T, *[1] * len(feat)) & feature_mask(ab, feat).to(x.device)  # (T, *F)
        if method == "zero":
            rep = torch.zeros_like(x)
        elif method in ("mean", "median"):
            rep = getattr(stats, method).to(x.device, x.dtype).expand_as(x)
        elif method == "noise":
            g = torch.Generator(device=x.device).manual_seed(gen_seed)
            eps = torch.randn(x.shape, generator=g, device=x.device, dtype=x.dtype)
            rep = x + ab.noise_std * stats.std.to(x.device, x.dtype) * eps
        elif method == "scale":
            rep = x * ab.scale
        else:  # patch: right-aligned copy of the counterfactual activation; generated positions keep theirs
            src = patch.activation.to(x.device, x.dtype)  # (Tc, *F)
            off = patch_offset(prompt_len, src.shape[0])
            ts = torch.arange(max(0, -off), min(prompt_len, T), device=x.device)
            rep = x.clone()
            rep[:, ts] = src[ts + off]
            covered = torch.zeros(T, dtype=torch.bool, device=x.device)
            covered[ts] = True
            mask = mask & covered.view(T, *[1] * len(feat))
        return torch.where(mask, rep, x)

    return fn
