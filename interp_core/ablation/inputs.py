"""Text inputs (CLI flags, page widgets, URL values) -> an `Ablation` and sweep scales, parsed in one place so
the CLI and the playground accept and reject exactly the same things."""
from __future__ import annotations

from interp_core.ablation.interventions import Ablation, parse_ints, parse_positions
from interp_core.errors import UserError


def parse_scales(text: str) -> tuple[float, ...]:
    """'0, 0.5,1,2' -> (0.0, 0.5, 1.0, 2.0); a clear message for anything else (or for nothing)."""
    try:
        out = tuple(float(s) for s in str(text).split(",") if s.strip())
    except ValueError:
        raise UserError(f"Scale values '{str(text)[:60]}' must be comma-separated numbers, e.g. 0,0.5,1,2.") from None
    if not out:
        raise UserError("No scale values given; use comma-separated numbers, e.g. 0,0.5,1,2.")
    return out


def ablation_from_text(site: str, layer: int | None, method: str = "zero", *, heads: str = "", indices: str = "",
                       scale: float = 0.0, noise_std: float = 1.0, positions: str = "all", seed: int = 0,
                       sae: str | None = None) -> Ablation:
    """The Ablation described by text fields: heads / indices / positions as comma lists ('' heads = every head);
    site "feature" takes the SAE id and latent indices."""
    return Ablation(
        site=site, layer=None if site == "embed" else layer, method=method,
        heads=parse_ints(heads, "heads") if site == "head" and str(heads).strip() else (),
        indices=parse_ints(indices, f"{site} indices") if site in ("neuron", "feature") else (),
        scale=float(scale), noise_std=float(noise_std), positions=parse_positions(positions), seed=int(seed),
        sae=sae if site == "feature" else None)
