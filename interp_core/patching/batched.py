"""Exact activation patching, many patches per forward pass: row i of a batch of B copies of the base
prompt gets component i's activation from the source prompt, through the ordinary intervention hooks.

direction "denoise": base = corrupted run, source = clean run (how much of the clean answer one component
restores); "noise": base = clean run, source = corrupted run (what attribution patching estimates).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from interp_core.engine.batching import rows_per_pass
from interp_core.engine.sites import CHOICES, PATCHING_SITES, Site
from interp_core.errors import UserError
from interp_core.patching.metric import raw_metric
from interp_core.patching.prepared import Prepared
from interp_core.results import Progress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

DIRECTIONS = {"denoise": "clean activation patched into the corrupted run",
              "noise": "corrupted activation patched into the clean run"}


@dataclass(frozen=True, order=True)
class Component:
    """One patchable thing: a site at a layer, at one clean position (None = every aligned position),
    and one head / neuron (None = the whole site)."""

    kind: str  # one of engine.sites.PATCHING_SITES
    layer: int
    position: int | None = None
    index: int | None = None

    @property
    def site(self) -> Site:
        return CHOICES[self.kind].site(self.layer)

    def label(self) -> str:
        what = {"head": f"head {self.layer}.{self.index}", "neuron": f"neuron {self.layer}.{self.index}"}.get(
            self.kind, f"{self.kind} {self.layer}")
        return what + ("" if self.position is None else f" @ position {self.position}")


def check_component(lm: LoadedModel, prep: Prepared, c: Component) -> None:
    if c.kind not in PATCHING_SITES:
        raise UserError(f"Unknown component '{c.kind}'; choose one of {', '.join(PATCHING_SITES)}.")
    lm.adapter.check_site(c.site)
    if c.position is not None and c.position not in prep.positions:
        raise UserError(f"Position {c.position} is outside the aligned prompt positions "
                        f"{prep.positions[0]}..{prep.positions[-1]}.")
    top = {"head": lm.adapter.n_heads, "neuron": lm.adapter.d_mlp}.get(c.kind)
    if c.index is not None and (top is None or not 0 <= c.index < top):
        raise UserError(f"Index {c.index} is out of range for {c.kind} (0..{(top or 1) - 1}).")


def _writer(entries: list[tuple[int, Component]], src: torch.Tensor, base_pos: torch.Tensor, src_pos: torch.Tensor,
            base_of: dict[int, int], src_of: dict[int, int]):
    """The intervention for one site: row r takes the source activation of its component."""
    def fn(x: torch.Tensor) -> torch.Tensor:  # x (B, T, *F); src (Ts, *F)
        x = x.clone()
        s = src.to(x.device, x.dtype)
        for r, c in entries:
            if c.position is not None:
                bp, sp = base_of[c.position], src_of[c.position]
                if c.index is None:
                    x[r, bp] = s[sp]
                else:
                    x[r, bp, c.index] = s[sp, c.index]
            elif c.index is None:
                x[r, base_pos] = s[src_pos]
            else:
                x[r, base_pos, c.index] = s[src_pos, c.index]
        return x
    return fn


def _is_noop(c: Component, src: torch.Tensor, base: torch.Tensor, base_pos, src_pos, base_of, src_of,
             n_layers: int, pred: int) -> bool:
    """Whether patching `c` provably changes nothing: the source activation equals the base one exactly
    (e.g. a shared prompt prefix in a decoder), or a final-resid position the metric never reads."""
    if c.kind == "resid" and c.layer == n_layers and c.position is not None and base_of[c.position] != pred:
        return True
    if c.position is not None:
        a, b = src[0, src_of[c.position]], base[0, base_of[c.position]]
    else:
        a, b = src[0, src_pos], base[0, base_pos]
    if c.index is not None:  # heads: (..., H, Dh); neurons: (..., M)
        pick = (Ellipsis, c.index, slice(None)) if c.kind == "head" else (Ellipsis, c.index)
        a, b = a[pick], b[pick]
    return bool(torch.equal(a, b))


def run_components(lm: LoadedModel, prep: Prepared, comps: Sequence[Component], *, direction: str = "denoise",
                   rows: int | None = None, skip_noops: bool = True, progress: Progress | None = None,
                   label: str = "Patching") -> np.ndarray:
    """The metric (as shown: normalised logit diff or probability) after patching each component alone.

    skip_noops: components whose patch provably changes nothing (see _is_noop) get the unpatched base
    run's value without a patched run."""
    if direction not in DIRECTIONS:
        raise UserError(f"Unknown direction '{direction}'; choose one of {', '.join(DIRECTIONS)}.")
    comps = list(comps)
    for c in comps:
        check_component(lm, prep, c)
    denoise = direction == "denoise"
    base, src = (prep.corrupt, prep.clean) if denoise else (prep.clean, prep.corrupt)
    pred = prep.corrupt_pred if denoise else prep.clean_pred
    base_off, src_off = (prep.offset, 0) if denoise else (0, prep.offset)
    base_of = {p: p + base_off for p in prep.positions}
    src_of = {p: p + src_off for p in prep.positions}
    base_pos = torch.tensor([base_of[p] for p in prep.positions])
    src_pos = torch.tensor([src_of[p] for p in prep.positions])
    sites = list(dict.fromkeys(c.site for c in comps))
    last = Site("resid", lm.adapter.n_layers)
    out = np.empty(len(comps))
    if not comps:
        return out
    with torch.inference_mode():
        source = lm.run(src.input_ids, capture=sites, need_logits=False).cache  # site -> (1, Ts, *F)
        todo = list(range(len(comps)))
        if skip_noops:
            plain = lm.run(base.input_ids, capture=[*sites, last], need_logits=False).cache
            base_value = float(prep.metric.value(raw_metric(lm, prep.metric, plain[last][:, pred]))[0])
            noop = [_is_noop(c, source[c.site], plain[c.site], base_pos, src_pos, base_of, src_of,
                             lm.adapter.n_layers, pred) for c in comps]
            out[[i for i, n in enumerate(noop) if n]] = base_value
            todo = [i for i, n in enumerate(noop) if not n]
        n_rows = rows or rows_per_pass(len(base.tokens), lm.device)
        if progress is not None and not todo:
            progress(1.0, f"{label}: every patch is a no-op")
        for start in range(0, len(todo), n_rows):
            idx = todo[start:start + n_rows]
            chunk = [comps[i] for i in idx]
            by_site: dict[Site, list] = defaultdict(list)
            for r, c in enumerate(chunk):
                by_site[c.site].append((r, c))
            hooks = {s: _writer(e, source[s][0], base_pos, src_pos, base_of, src_of) for s, e in by_site.items()}
            ids = base.input_ids.expand(len(chunk), -1)
            resid = lm.run(ids, capture=[last], interventions=hooks, need_logits=False).cache[last]  # (B, T, D)
            raw = raw_metric(lm, prep.metric, resid[:, pred])
            out[idx] = prep.metric.value(raw).cpu().numpy()
            if progress is not None:
                done = start + len(chunk)
                progress(done / len(todo), f"{label}: {done}/{len(todo)} patched runs"
                         + (f" ({len(comps) - len(todo)} no-ops skipped)" if len(todo) < len(comps) else ""))
    return out
