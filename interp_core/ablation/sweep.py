"""One intervention swept over every layer, every head, or a range of scale factors (many points per forward pass)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch

from interp_core.ablation.counterfactual import PatchSource
from interp_core.ablation.generation import final_resid
from interp_core.ablation.interventions import Ablation, check_ablation, resolve_positions
from interp_core.ablation.refstats import DEFAULT_BUDGET
from interp_core.ablation.results import AblationSweep, SweepPoint
from interp_core.ablation.run import _hooks, _resources, _side, _steps, _target_id, kl_divergence, prediction_positions
from interp_core.engine.batching import row_interventions, rows_per_pass
from interp_core.engine.model import LoadedModel
from interp_core.engine.sites import CHOICES, Site
from interp_core.budgets import budgets
from interp_core.engine.scheduler import scheduled
from interp_core.errors import UserError
from interp_core.results import Progress

DEFAULT_SCALES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)


@scheduled("long")
def sweep(lm: LoadedModel, prompt: str, ab: Ablation, kind: str, *, target: str | None = None, top_k: int = 5,
          scales: Sequence[float] = DEFAULT_SCALES, reference=None,
          counterfactual: str | Mapping[Site, PatchSource] | None = None, budget: int = DEFAULT_BUDGET,
          progress: Progress | None = None) -> AblationSweep:
    """The same intervention at every layer ("layers"), every head of every layer ("heads", a heatmap),
    or with the scale factor going through `scales` ("scale"). Many points per forward pass
    (engine/batching.py: ~2k tokens a pass on a CPU, ~32k on a GPU)."""
    a = lm.adapter
    if kind == "layers":
        if ab.site == "embed":
            raise UserError("Token embeddings have no layers to sweep; pick resid, attn_out, head, mlp_out or neuron.")
        layers = CHOICES[ab.site].layers(a.n_layers)
        variants = [ab.at(layer=l) for l in layers]
        keys: list[tuple[int | None, int | None, float | None]] = [
            (l, None, ab.scale if ab.method == "scale" else None) for l in layers]
    elif kind == "heads":
        variants, keys = [], []
        for l in range(a.n_layers):
            for h in range(a.n_heads):
                variants.append(ab.at(site="head", layer=l, heads=(h,), indices=()))
                keys.append((l, h, ab.scale if ab.method == "scale" else None))
    elif kind == "scale":
        scales = [float(s) for s in scales]
        if not scales or not all(math.isfinite(s) for s in scales):
            raise UserError("Give at least one finite scale value for the scale sweep.")
        variants = [ab.at(method="scale", scale=s) for s in scales]
        keys = [(ab.layer, ab.heads[0] if ab.site == "head" and len(ab.heads) == 1 else None, s) for s in scales]
    else:
        raise UserError(f"Unknown sweep '{kind}'; choose layers, heads or scale.")
    budgets().sweep_points.check(len(variants))
    for v in variants:
        check_ablation(lm, v)
    enc = lm.encode(prompt)
    budgets().ablation_tokens.check(len(enc.tokens))
    T = len(enc.tokens)
    pred = prediction_positions(lm, enc.input_ids)[0]
    tid = _target_id(lm, target)
    resolve_positions(ab.positions, T)
    stats, patches, _, _ = _resources(lm, variants, enc, reference, counterfactual, budget, progress)
    tick = _steps(progress, len(variants) + 1)
    # Many points per forward pass: row 0 of the first pass is the clean run, every other row one point's
    # intervention (its own hook acts on its own row only); the same numbers as one pass per point.
    todo = [None, *zip(variants, keys)]
    n_rows = rows_per_pass(T, lm.device)
    points, clean = [], None
    for start in range(0, len(todo), n_rows):
        chunk = todo[start:start + n_rows]
        hooks = row_interventions([{} if item is None else _hooks(item[0], T, stats, patches) for item in chunk])
        resid, _ = final_resid(lm, enc.input_ids.expand(len(chunk), -1), hooks)  # (B, T, D)
        with torch.inference_mode():
            logits = lm.adapter.decode_resid(resid[:, pred]).float()  # (B, V)
        for item, lg in zip(chunk, logits):
            if item is None:
                clean = lg
                tick("Clean run")
                continue
            at_layer, at_head, at_scale = item[1]
            points.append(SweepPoint(at_layer, at_head, at_scale, _side(lm, lg, tid, top_k), kl_divergence(clean, lg)))
            where = f"layer {at_layer}" + (f" head {at_head}" if at_head is not None and kind == "heads" else "") + \
                (f" scale {at_scale:g}" if kind == "scale" else "")
            tick(f"Sweep: {where} ({len(points)}/{len(variants)})")
    return AblationSweep(kind, ab, lm.spec.name, enc.tokens, pred, target or None, _side(lm, clean, tid, top_k),
                       tuple(points))
