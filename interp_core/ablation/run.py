"""The ablation playground's experiments: clean vs ablated next-token predictions, greedy generation,
sweeps over layers / heads / scale, and self-repair (direct vs total effect of a component).

Every intervention is a hook for the duration of one forward pass (see interventions.py); the weights
are never changed. Decoders are compared at the last prompt position; BERT at its [MASK] positions.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from interp_core.ablation.counterfactual import PatchSource, capture_patch, check_patch
from interp_core.ablation.generation import decode_positions, final_resid, first_divergence, greedy_pair
from interp_core.ablation.interventions import (NEEDS_REFERENCE, Ablation, alignment, check_ablation, make_intervention,
                            resolve_positions)
from interp_core.ablation.refstats import DEFAULT_BUDGET, reference_stats
from interp_core.ablation.results import AblationResult, Comparison, SelfRepair, Side, TokenProb
from interp_core.engine.sites import Site
from interp_core.budgets import budgets
from interp_core.engine.scheduler import scheduled
from interp_core.errors import UserError
from interp_core.results import Progress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

COMPONENTS = ("attn_out", "head", "mlp_out", "neuron")  # what self-repair can measure


# --- helpers ----------------------------------------------------------------------------------
def prediction_positions(lm: LoadedModel, input_ids: torch.Tensor) -> list[int]:
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


def _side(lm: LoadedModel, logits: torch.Tensor, target_id: int | None, top_k: int) -> Side:
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


def _target_id(lm: LoadedModel, target: str | None) -> int | None:
    return None if target is None or target == "" else lm.token_id(target)


def _resources(lm: LoadedModel, ablations: Sequence[Ablation], enc, reference, counterfactual, budget: int,
               progress: Progress | None) -> tuple[dict, dict, tuple[dict, ...], str | None]:
    """Reference statistics / patch sources for every hook site the ablations use (one pass each)."""
    sites = list(dict.fromkeys(a.hook_site for a in ablations))
    methods = {a.method for a in ablations}
    stats: dict = {}
    patches: dict = {}
    align: tuple = ()
    ref_label: str | None = None
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


def _steps(progress: Progress | None, total: int):
    """A tick(msg) that reports step i/total through `progress` (exceptions from it propagate)."""
    done = [0]

    def tick(msg: str) -> None:
        done[0] += 1
        if progress is not None:
            progress(min(1.0, done[0] / total), msg)
    return tick


# --- experiments --------------------------------------------------------------------------------
@scheduled("short")
def run_ablation(lm: LoadedModel, prompt: str, ab: Ablation, *, target: str | None = None, top_k: int = 10, generate: int = 0,
                 reference=None, counterfactual: str | Mapping[Site, PatchSource] | None = None,
                 self_repair: bool = False, budget: int = DEFAULT_BUDGET, progress: Progress | None = None) -> AblationResult:
    """Clean vs ablated: next-token distributions, optional greedy generation and self-repair.

    reference: a corpus.Corpus for mean / median / noise; counterfactual: prompt text (or captured
    PatchSources) for patch. Generation: `generate` greedy tokens (decoders only).
    """
    check_ablation(lm, ab)
    enc = lm.encode(prompt)
    budgets().ablation_tokens.check(len(enc.tokens))
    T = len(enc.tokens)
    preds = prediction_positions(lm, enc.input_ids)
    tid = _target_id(lm, target)
    generate = max(0, int(generate))
    budgets().generate_tokens.check(generate)
    if generate and lm.adapter.masked_lm:
        raise UserError("Greedy generation needs a decoder; BERT is compared at its [MASK] positions instead.")
    if self_repair:
        _check_self_repair(lm, ab)
    resolve_positions(ab.positions, T)  # fail on bad positions before any work
    stats, patches, align, ref_label = _resources(lm, [ab], enc, reference, counterfactual, budget, progress)
    hooks = _hooks(ab, T, stats, patches)
    tick = _steps(progress, 2 + generate + (2 if self_repair else 0))

    out_site = _component_output(ab) if self_repair else None
    clean_resid, cache = final_resid(lm, enc.input_ids, None, capture=[out_site] if out_site else ())
    clean = decode_positions(lm, clean_resid, preds)  # (P, V)
    tick("Clean run")
    abl_resid, _ = final_resid(lm, enc.input_ids, hooks)
    ablated = decode_positions(lm, abl_resid, preds)
    tick("Ablated run")
    comps = tuple(Comparison(p, enc.tokens[p], _side(lm, clean[i], tid, top_k), _side(lm, ablated[i], tid, top_k),
                             kl_divergence(clean[i], ablated[i])) for i, p in enumerate(preds))

    gen_c: tuple[int, ...] = ()
    gen_a: tuple[int, ...] = ()
    if generate:
        sub = None if progress is None else (lambda f, m: tick(m))
        gen_c, gen_a = greedy_pair(lm, enc.input_ids, generate, hooks, sub, "Clean and ablated generation")
    repair = None
    if self_repair and out_site is not None:
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


def _check_self_repair(lm: LoadedModel, ab: Ablation) -> None:
    if lm.adapter.masked_lm:
        raise UserError("Self-repair is not defined for BERT: it is post-LN, so every component's output is "
                        "renormalised at each layer and there is no direct path to the output to remove.")
    if ab.site not in COMPONENTS:
        raise UserError(f"Self-repair measures a component that adds to the residual stream "
                        f"({', '.join(COMPONENTS)}), not '{ab.site}'.")


def _component_output(ab: Ablation) -> Site:
    """The site through which a component's change enters the residual stream."""
    return Site("attn_out" if ab.site in ("attn_out", "head") else "mlp_out", ab.layer)
