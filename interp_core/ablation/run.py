"""The ablation playground's experiments: clean vs ablated next-token predictions, greedy generation,
sweeps over layers / heads / scale, and self-repair (direct vs total effect of a component).

Every intervention is a hook for the duration of one forward pass (see interventions.py); the weights
are never changed. Decoders are compared at the last prompt position; BERT at its [MASK] positions.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
import torch

from interp_core.errors import UserError
from interp_core.ablation.generation import decode_positions, final_resid, first_divergence, greedy
from interp_core.engine.integrity import model_identity
from interp_core.ablation.interventions import (NEEDS_REFERENCE, Ablation, alignment, check_ablation, make_intervention,
                            resolve_positions)
from interp_core.ablation.counterfactual import PatchSource, capture_patch, check_patch
from interp_core.ablation.refstats import DEFAULT_BUDGET, reference_stats
from interp_core.engine.sites import Site

Progress = Callable[[float, str], None] | None
DEFAULT_SCALES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)
COMPONENTS = ("attn_out", "head", "mlp_out", "neuron")  # what self-repair can measure
SWEEP_COLUMNS = ["layer", "head", "scale", "kl", "target_prob_clean", "target_prob_ablated", "target_prob_delta",
                 "target_logit_delta", "target_rank_ablated", "top_token_ablated", "top_prob_ablated"]


# --- results ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenProb:
    token: str
    token_id: int
    prob: float
    logit: float


@dataclass(frozen=True)
class Side:
    """One run's next-token distribution at one position: top-k and the target token's standing."""

    top: tuple[TokenProb, ...]
    target_prob: float | None = None
    target_logit: float | None = None
    target_rank: int | None = None  # 1 = the most likely token

    def to_dict(self) -> dict:
        return {"top": [{"token": t.token, "prob": t.prob, "logit": t.logit} for t in self.top],
                "target_prob": self.target_prob, "target_logit": self.target_logit, "target_rank": self.target_rank}


@dataclass(frozen=True)
class Comparison:
    """Clean vs ablated at one prediction position. kl = KL(clean ‖ ablated) in nats."""

    position: int
    token: str  # the input token there (decoders: the last prompt token; BERT: [MASK])
    clean: Side
    ablated: Side
    kl: float

    @property
    def target_prob_delta(self) -> float | None:
        c, a = self.clean.target_prob, self.ablated.target_prob
        return None if c is None else a - c

    @property
    def target_logit_delta(self) -> float | None:
        c, a = self.clean.target_logit, self.ablated.target_logit
        return None if c is None else a - c

    def frame(self) -> pd.DataFrame:
        """Top-k side by side: rank, clean token/prob, ablated token/prob."""
        rows = []
        for i in range(max(len(self.clean.top), len(self.ablated.top))):
            c = self.clean.top[i] if i < len(self.clean.top) else None
            a = self.ablated.top[i] if i < len(self.ablated.top) else None
            rows.append({"rank": i + 1, "clean_token": c and c.token, "clean_prob": c and c.prob,
                         "ablated_token": a and a.token, "ablated_prob": a and a.prob})
        return pd.DataFrame(rows, columns=["rank", "clean_token", "clean_prob", "ablated_token", "ablated_prob"])


@dataclass(frozen=True)
class SelfRepair:
    """Direct effect: remove the component's change from the final residual stream only (downstream as in the
    clean run). Total effect: re-run everything downstream. Both measured as the change in the target logit."""

    target: str
    clean_logit: float
    direct_logit: float
    total_logit: float
    metric: str = "target logit change (ablated − clean)"

    @property
    def direct_effect(self) -> float:
        return self.direct_logit - self.clean_logit

    @property
    def total_effect(self) -> float:
        return self.total_logit - self.clean_logit

    @property
    def ratio(self) -> float | None:
        """total / direct; well below 1 means later layers compensated (None when the direct effect is ~0)."""
        d = self.direct_effect
        return None if abs(d) < 1e-6 else self.total_effect / d

    def to_dict(self) -> dict:
        return {"target": self.target, "metric": self.metric, "clean_logit": self.clean_logit,
                "direct_logit": self.direct_logit, "total_logit": self.total_logit,
                "direct_effect": self.direct_effect, "total_effect": self.total_effect, "ratio": self.ratio}


@dataclass(frozen=True)
class AblationResult:
    ablation: Ablation
    model: str
    tokens: tuple[str, ...]
    positions: tuple[int, ...] | None  # ablated prompt positions; None = all
    target: str | None
    comparisons: tuple[Comparison, ...]  # one per prediction position
    generation_clean: tuple[str, ...] = ()
    generation_ablated: tuple[str, ...] = ()
    first_divergence: int | None = None
    alignment: tuple[dict, ...] = ()  # patch: clean position -> counterfactual position
    reference: str | None = None  # "name (N tokens)" for mean / median / noise
    self_repair: SelfRepair | None = None

    @property
    def main(self) -> Comparison:
        return self.comparisons[0]

    def generation_frame(self) -> pd.DataFrame:
        n = max(len(self.generation_clean), len(self.generation_ablated))
        rows = []
        for i in range(n):
            c = self.generation_clean[i] if i < len(self.generation_clean) else None
            a = self.generation_ablated[i] if i < len(self.generation_ablated) else None
            rows.append({"step": i, "clean": c, "ablated": a, "same": c == a,
                         "first_divergence": i == self.first_divergence})
        return pd.DataFrame(rows, columns=["step", "clean", "ablated", "same", "first_divergence"])

    def to_dict(self) -> dict:
        m = self.main
        out = {
            "model": self.model, "ablation": self.ablation.label(), "tokens": list(self.tokens),
            "ablated_positions": "all" if self.positions is None else list(self.positions),
            "position": m.position, "target": self.target,
            "clean": {**m.clean.to_dict(), "generation": list(self.generation_clean)},
            "ablated": {**m.ablated.to_dict(), "generation": list(self.generation_ablated)},
            "kl": m.kl, "target_prob_delta": m.target_prob_delta, "target_logit_delta": m.target_logit_delta,
            "first_divergence": self.first_divergence,
        }
        if len(self.comparisons) > 1:
            out["mask_positions"] = [{"position": c.position, "clean": c.clean.to_dict(), "ablated": c.ablated.to_dict(),
                                      "kl": c.kl, "target_prob_delta": c.target_prob_delta} for c in self.comparisons]
        if self.alignment:
            out["alignment"] = list(self.alignment)
        if self.reference:
            out["reference"] = self.reference
        if self.self_repair is not None:
            out.update(self.self_repair.to_dict())
        return out


@dataclass(frozen=True)
class SweepPoint:
    layer: int | None
    head: int | None
    scale: float | None
    ablated: Side
    kl: float


@dataclass(frozen=True)
class SweepResult:
    kind: str  # "layers" | "heads" | "scale"
    ablation: Ablation
    model: str
    tokens: tuple[str, ...]
    position: int
    target: str | None
    clean: Side
    points: tuple[SweepPoint, ...] = field(default=())

    def frame(self) -> pd.DataFrame:
        rows = []
        for p in self.points:
            tp_c, tp_a = self.clean.target_prob, p.ablated.target_prob
            rows.append({
                "layer": p.layer, "head": p.head, "scale": p.scale, "kl": p.kl,
                "target_prob_clean": tp_c, "target_prob_ablated": tp_a,
                "target_prob_delta": None if tp_c is None else tp_a - tp_c,
                "target_logit_delta": None if tp_c is None else p.ablated.target_logit - self.clean.target_logit,
                "target_rank_ablated": p.ablated.target_rank,
                "top_token_ablated": p.ablated.top[0].token, "top_prob_ablated": p.ablated.top[0].prob,
            })
        return pd.DataFrame(rows, columns=SWEEP_COLUMNS)

    def to_dict(self) -> dict:
        recs = []
        for p in self.points:
            recs.append({"layer": p.layer, "head": p.head, "scale": p.scale, "clean": self.clean.to_dict(),
                         "ablated": p.ablated.to_dict(), "kl": p.kl,
                         "target_prob_delta": None if self.clean.target_prob is None
                         else p.ablated.target_prob - self.clean.target_prob})
        return {"model": self.model, "sweep": self.kind, "ablation": self.ablation.label(), "tokens": list(self.tokens),
                "position": self.position, "target": self.target, "records": recs}


# --- helpers ----------------------------------------------------------------------------------
def prediction_positions(lm, input_ids: torch.Tensor) -> list[int]:
    """Where the model predicts: decoders at the last position, BERT at every [MASK]."""
    if not lm.adapter.has_lm_head:
        raise UserError(f"{lm.spec.name} has no LM head, so it makes no predictions to compare; "
                        "pick a model with one (e.g. gemma-3-270m).")
    if lm.adapter.masked_lm:
        mask_id = getattr(lm.tokenizer, "mask_token_id", None)
        pos = [] if mask_id is None else (input_ids[0] == mask_id).nonzero().flatten().tolist()
        if not pos:
            raise UserError(f"{lm.spec.name} predicts masked tokens: put {lm.tokenizer.mask_token} in the prompt.")
        return pos
    return [input_ids.shape[1] - 1]


def _side(lm, logits: torch.Tensor, target_id: int | None, top_k: int) -> Side:
    """logits (V,) -> top-k tokens with probabilities, and the target's prob / logit / rank."""
    logp = torch.log_softmax(logits.double(), -1)
    vals, idx = logp.topk(min(top_k, logits.shape[-1]))
    toks = lm.token_strings(idx.tolist())
    top = tuple(TokenProb(t, int(i), float(v.exp()), float(logits[i])) for t, i, v in zip(toks, idx, vals))
    if target_id is None:
        return Side(top)
    rank = int((logits > logits[target_id]).sum()) + 1
    return Side(top, float(logp[target_id].exp()), float(logits[target_id]), rank)


def kl_divergence(clean_logits: torch.Tensor, ablated_logits: torch.Tensor) -> float:
    """KL(clean ‖ ablated) in nats over the vocabulary."""
    p = torch.log_softmax(clean_logits.double(), -1)
    q = torch.log_softmax(ablated_logits.double(), -1)
    return max(0.0, float((p.exp() * (p - q)).sum()))


def _target_id(lm, target: str | None) -> int | None:
    return None if target is None or target == "" else lm.token_id(target)


def _resources(lm, ablations: Sequence[Ablation], enc, reference, counterfactual, budget: int,
               progress: Progress) -> tuple[dict, dict, tuple[dict, ...], str | None]:
    """Reference statistics / patch sources for every hook site the ablations use (one pass each)."""
    sites = list(dict.fromkeys(a.hook_site for a in ablations))
    methods = {a.method for a in ablations}
    stats, patches, align, ref_label = {}, {}, (), None
    if methods & set(NEEDS_REFERENCE):
        if reference is None:
            raise UserError("Mean, median and noise ablation need a reference corpus; choose one "
                            "(--reference builtin:looking-glass, a text file, or the prompt itself).")
        stats = reference_stats(lm, reference, sites, budget=budget, progress=progress)
        ref_label = f"{reference.name} ({next(iter(stats.values())).n_tokens:,} tokens)"
    if "patch" in methods:
        if counterfactual is None or (isinstance(counterfactual, str) and not counterfactual.strip()):
            raise UserError("Patching needs a counterfactual prompt (--counterfactual TEXT).")
        if isinstance(counterfactual, str):
            patches = capture_patch(lm, counterfactual, sites)
        else:
            patches = dict(counterfactual)
            missing = [s for s in sites if s not in patches]
            if missing:
                raise UserError(f"The counterfactual activations do not include {missing[0]}; re-run the counterfactual.")
        for s in sites:
            check_patch(lm, patches[s], s)
        align = tuple(alignment(enc.tokens, next(iter(patches.values())).tokens))
    return stats, patches, align, ref_label


def _hooks(ab: Ablation, prompt_len: int, stats: Mapping, patches: Mapping[Site, PatchSource]) -> dict:
    site = ab.hook_site
    pos = resolve_positions(ab.positions, prompt_len)
    return {site: make_intervention(ab, pos, prompt_len=prompt_len, stats=stats.get(site), patch=patches.get(site))}


def _steps(progress: Progress, total: int):
    """A tick(msg) that reports step i/total through `progress` (exceptions from it propagate)."""
    done = [0]

    def tick(msg: str) -> None:
        done[0] += 1
        if progress is not None:
            progress(min(1.0, done[0] / total), msg)
    return tick


# --- experiments --------------------------------------------------------------------------------
def run_ablation(lm, prompt: str, ab: Ablation, *, target: str | None = None, top_k: int = 10, generate: int = 0,
                 reference=None, counterfactual: str | Mapping[Site, PatchSource] | None = None,
                 self_repair: bool = False, budget: int = DEFAULT_BUDGET, progress: Progress = None) -> AblationResult:
    """Clean vs ablated: next-token distributions, optional greedy generation and self-repair.

    reference: a corpus.Corpus for mean / median / noise; counterfactual: prompt text (or captured
    PatchSources) for patch. Generation: `generate` greedy tokens (decoders only).
    """
    check_ablation(lm, ab)
    enc = lm.encode(prompt)
    T = len(enc.tokens)
    preds = prediction_positions(lm, enc.input_ids)
    tid = _target_id(lm, target)
    generate = max(0, int(generate))
    if generate and lm.adapter.masked_lm:
        raise UserError("Greedy generation needs a decoder; BERT is compared at its [MASK] positions instead.")
    if self_repair:
        _check_self_repair(lm, ab)
    resolve_positions(ab.positions, T)  # fail on bad positions before any work
    stats, patches, align, ref_label = _resources(lm, [ab], enc, reference, counterfactual, budget, progress)
    hooks = _hooks(ab, T, stats, patches)
    tick = _steps(progress, 2 + 2 * generate + (2 if self_repair else 0))

    out_site = _component_output(ab) if self_repair else None
    clean_resid, cache = final_resid(lm, enc.input_ids, None, capture=[out_site] if out_site else ())
    clean = decode_positions(lm, clean_resid, preds)  # (P, V)
    tick("Clean run")
    abl_resid, _ = final_resid(lm, enc.input_ids, hooks)
    ablated = decode_positions(lm, abl_resid, preds)
    tick("Ablated run")
    comps = tuple(Comparison(p, enc.tokens[p], _side(lm, clean[i], tid, top_k), _side(lm, ablated[i], tid, top_k),
                             kl_divergence(clean[i], ablated[i])) for i, p in enumerate(preds))

    gen_c = gen_a = ()
    if generate:
        sub = None if progress is None else (lambda f, m: tick(m))
        gen_c = greedy(lm, enc.input_ids, generate, None, sub, "Clean generation")
        gen_a = greedy(lm, enc.input_ids, generate, hooks, sub, "Ablated generation")
    repair = None
    if self_repair:
        t = tid if tid is not None else int(clean[0].argmax())
        abl_out = lm.run(enc.input_ids, capture=[out_site], interventions=hooks, need_logits=False).cache[out_site]
        tick("Direct effect")
        direct_resid = clean_resid - (cache[out_site] - abl_out)  # (1, T, D): only the component's own change
        direct = decode_positions(lm, direct_resid, preds[:1])[0]
        tick("Self-repair")
        repair = SelfRepair(lm.token_strings([t])[0], float(clean[0, t]), float(direct[t]), float(ablated[0, t]))
    return AblationResult(
        ablation=ab, model=lm.spec.name, tokens=enc.tokens, positions=resolve_positions(ab.positions, T),
        target=target or None, comparisons=comps,
        generation_clean=tuple(lm.token_strings(gen_c)), generation_ablated=tuple(lm.token_strings(gen_a)),
        first_divergence=first_divergence(gen_c, gen_a) if generate else None,
        alignment=align, reference=ref_label, self_repair=repair)


def _check_self_repair(lm, ab: Ablation) -> None:
    if lm.adapter.masked_lm:
        raise UserError("Self-repair is not defined for BERT: it is post-LN, so every component's output is "
                        "renormalised at each layer and there is no direct path to the output to remove.")
    if ab.site not in COMPONENTS:
        raise UserError(f"Self-repair measures a component that adds to the residual stream "
                        f"({', '.join(COMPONENTS)}), not '{ab.site}'.")


def _component_output(ab: Ablation) -> Site:
    """The site through which a component's change enters the residual stream."""
    return Site("attn_out" if ab.site in ("attn_out", "head") else "mlp_out", ab.layer)


def sweep(lm, prompt: str, ab: Ablation, kind: str, *, target: str | None = None, top_k: int = 5,
          scales: Sequence[float] = DEFAULT_SCALES, reference=None,
          counterfactual: str | Mapping[Site, PatchSource] | None = None, budget: int = DEFAULT_BUDGET,
          progress: Progress = None) -> SweepResult:
    """The same intervention at every layer ("layers"), every head of every layer ("heads", a heatmap),
    or with the scale factor going through `scales` ("scale"). One forward pass per point."""
    a = lm.adapter
    if kind == "layers":
        if ab.site == "embed":
            raise UserError("Token embeddings have no layers to sweep; pick resid, attn_out, head, mlp_out or neuron.")
        top = a.n_layers if ab.site == "resid" else a.n_layers - 1
        variants = [ab.at(layer=l) for l in range(top + 1)]
        keys = [(l, None, ab.scale if ab.method == "scale" else None) for l in range(top + 1)]
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
    for v in variants:
        check_ablation(lm, v)
    enc = lm.encode(prompt)
    T = len(enc.tokens)
    pred = prediction_positions(lm, enc.input_ids)[0]
    tid = _target_id(lm, target)
    resolve_positions(ab.positions, T)
    stats, patches, _, _ = _resources(lm, variants, enc, reference, counterfactual, budget, progress)
    tick = _steps(progress, len(variants) + 1)
    clean = decode_positions(lm, final_resid(lm, enc.input_ids)[0], [pred])[0]  # (V,)
    tick("Clean run")
    points = []
    for v, (l, h, s) in zip(variants, keys):
        resid, _ = final_resid(lm, enc.input_ids, _hooks(v, T, stats, patches))
        logits = decode_positions(lm, resid, [pred])[0]
        points.append(SweepPoint(l, h, s, _side(lm, logits, tid, top_k), kl_divergence(clean, logits)))
        where = f"layer {l}" + (f" head {h}" if h is not None and kind == "heads" else "") + \
            (f" scale {s:g}" if kind == "scale" else "")
        tick(f"Sweep: {where} ({len(points)}/{len(variants)})")
    return SweepResult(kind, ab, lm.spec.name, enc.tokens, pred, target or None, _side(lm, clean, tid, top_k),
                       tuple(points))


__all__ = ["AblationResult", "Comparison", "SelfRepair", "Side", "SweepPoint", "SweepResult", "TokenProb",
           "DEFAULT_SCALES", "SWEEP_COLUMNS", "kl_divergence", "model_identity", "prediction_positions",
           "run_ablation", "sweep"]
