"""Steering experiments: clean vs steered next-token predictions and continuations (one KV-cached batch of two
rows), and a sweep of the strength α (every α a row of the same batches), with each continuation's coherence:
its mean log-probability under the clean model, which falls where steering breaks the model."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from interp_core.ablation.directions import Direction, DirectionSpec, build_direction, check_width
from interp_core.ablation.generation import Sampling, final_resid, first_divergence, generate_rows
from interp_core.ablation.run import _side, _steps, kl_divergence, prediction_positions
from interp_core.ablation.steer import Steer, check_steer, make_steer, steer_positions, steering_vector, typical_norm
from interp_core.ablation.steer_results import Continuation, SteerPoint, SteerResult, SteerSweep
from interp_core.budgets import budgets
from interp_core.engine.batching import row_interventions, rows_per_pass
from interp_core.engine.scheduler import scheduled
from interp_core.engine.sites import Site
from interp_core.errors import UserError
from interp_core.results import Progress

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

DEFAULT_ALPHAS = (-8.0, -6.0, -4.0, -2.0, 0.0, 2.0, 4.0, 6.0, 8.0)
# the playground's default example (bench/RESULTS.md, "Steering: the default example"): Love − Hate added at the
# input of block 6 of Gemma 3 270M at 0.2 × the typical norm turns a neutral continuation into one about love
@dataclass(frozen=True)
class Example:
    prompt: str
    a: str  # contrast: prompt(s) A
    b: str  # contrast: prompt(s) B
    site: str
    layer: int
    alpha: float
    unit: str
    alphas: str  # the sweep


EXAMPLE = Example("I think that you are", "Love", "Hate", "resid_pre", 6, 0.2, "norm", "-0.4:0.4:9")
MAX_TARGETS = 4


def parse_alphas(text: str) -> tuple[float, ...]:
    """'-8:8:9' (start:stop:count, both ends included) or '0, 2, 4' -> the α values."""
    t = str(text or "").strip()
    try:
        if ":" in t:
            a, b, n = t.split(":")
            k = int(n)
            if not 1 <= k <= budgets().sweep_points.value:
                raise UserError(f"The α count {k} must be between 1 and {budgets().sweep_points.value}.")
            out = tuple(float(a) + (float(b) - float(a)) * i / max(1, k - 1) for i in range(k))
        else:
            out = tuple(float(x) for x in t.split(",") if x.strip())
    except ValueError:
        raise UserError(f"α values '{t[:40]}' must be start:stop:count (e.g. -8:8:9) or comma-separated numbers.") from None
    if not out or not all(math.isfinite(x) for x in out):
        raise UserError("Give at least one finite α value, e.g. -8:8:9.")
    return tuple(round(x, 6) for x in out)


def _prepare(lm: LoadedModel, prompt: str, direction: Direction | DirectionSpec, s: Steer, generate: int):
    """Checks, the direction, and the clean pass: (enc, position, direction, clean logits (V,), typical norm)."""
    check_steer(lm, s)
    enc = lm.encode(prompt)
    budgets().ablation_tokens.check(len(enc.tokens))
    budgets().generate_tokens.check(max(0, int(generate)))
    if generate and lm.adapter.masked_lm:
        raise UserError("Generation needs a decoder; BERT is compared at its [MASK] positions instead.")
    pos = prediction_positions(lm, enc.input_ids)[0]
    steer_positions(s.positions, len(enc.tokens))
    site = s.hook_site
    d = build_direction(lm, direction, site) if isinstance(direction, DirectionSpec) else direction
    check_width(lm, d)
    resid, cache = final_resid(lm, enc.input_ids, None, capture=[site])
    clean = _decode(lm, resid, pos)
    return enc, pos, d, clean[0], typical_norm(lm, cache[site], enc.input_ids)


def _decode(lm: LoadedModel, resid: torch.Tensor, pos: int) -> torch.Tensor:
    with torch.inference_mode():
        return lm.adapter.decode_resid(resid[:, pos]).float()  # (B, V)


def _target_ids(lm: LoadedModel, targets: Sequence[str]) -> list[int]:
    if len(targets) > MAX_TARGETS:
        raise UserError(f"Choose at most {MAX_TARGETS} target tokens.")
    return [lm.token_id(t) for t in targets]


def _probs(logits: torch.Tensor, ids: Sequence[int]) -> tuple[float, ...]:
    p = torch.softmax(logits.double(), -1)
    return tuple(float(p[i]) for i in ids)


def coherence(lm: LoadedModel, input_ids: torch.Tensor, rows: Sequence[Sequence[int]]) -> list[float | None]:
    """Each continuation's mean log p(token | prompt and the tokens before it) under the clean model (one pass;
    rows padded on the right, which a causal model never looks at)."""
    n = max((len(r) for r in rows), default=0)
    if n == 0:
        return [None for _ in rows]
    T = input_ids.shape[1]
    pad = [list(r) + [0] * (n - len(r)) for r in rows]
    ids = torch.cat([input_ids.expand(len(rows), -1).cpu(), torch.tensor(pad, dtype=input_ids.dtype)], 1)  # (R, T+n)
    resid, _ = final_resid(lm, ids.to(input_ids.device))
    out: list[float | None] = []
    for r, row in enumerate(rows):
        if not row:
            out.append(None)
            continue
        with torch.inference_mode():
            logits = lm.adapter.decode_resid(resid[r, T - 1:T - 1 + len(row)]).float()  # (n_r, V)
        lp = torch.log_softmax(logits.double(), -1).gather(1, torch.tensor(row).view(-1, 1).to(logits.device))
        out.append(float(lp.mean()))
    return out


def _sampling(sample: Sampling | None) -> dict | None:
    return None if sample is None else {"temperature": sample.temperature, "seed": sample.seed}


@scheduled("short")
def run_steer(lm: LoadedModel, prompt: str, direction: Direction | DirectionSpec, s: Steer, *,
              targets: Sequence[str] = (), top_k: int = 10, generate: int = 0, sample: Sampling | None = None,
              progress: Progress | None = None) -> SteerResult:
    """Clean vs steered: next-token distributions at the prediction position, and `generate` tokens of each
    (greedy, or sampled with the same seed for both) generated together in one KV-cached batch."""
    ids = _target_ids(lm, targets)
    enc, pos, d, clean, norm = _prepare(lm, prompt, direction, s, generate)
    tick = _steps(progress, 2 + max(0, int(generate)))
    tick("Clean run")
    T = len(enc.tokens)
    delta = steering_vector(d.vector, s, norm)
    hooks = {s.hook_site: make_steer(delta, s, T)}
    steered = _decode(lm, final_resid(lm, enc.input_ids, hooks)[0], pos)[0]
    tick("Steered run")
    gen_c: tuple[int, ...] = ()
    gen_s: tuple[int, ...] = ()
    coh: list[float | None] = [None, None]
    if generate:
        sub = None if progress is None else (lambda f, m: tick(m))
        gen_c, gen_s = generate_rows(lm, enc.input_ids, int(generate), [{}, hooks], sample, sub,
                                     "Clean and steered generation")
        coh = coherence(lm, enc.input_ids, [gen_c, gen_s])
    return SteerResult(
        steer=s, direction=d, model=lm.spec.name, tokens=enc.tokens, position=pos, site=str(s.hook_site),
        typical_norm=norm, added_norm=float(delta.norm()), targets=tuple(targets),
        clean=_side(lm, clean, None, top_k), steered=_side(lm, steered, None, top_k),
        clean_target_probs=_probs(clean, ids), steered_target_probs=_probs(steered, ids),
        kl=kl_divergence(clean, steered),
        generation_clean=Continuation(tuple(lm.token_strings(gen_c)), coh[0]),
        generation_steered=Continuation(tuple(lm.token_strings(gen_s)), coh[1]),
        first_divergence=first_divergence(gen_c, gen_s) if generate else None, sampling=_sampling(sample))


@scheduled("long")
def steer_sweep(lm: LoadedModel, prompt: str, direction: Direction | DirectionSpec, s: Steer, *,
                alphas: Sequence[float] = DEFAULT_ALPHAS, targets: Sequence[str] = (), top_k: int = 5,
                generate: int = 0, sample: Sampling | None = None, progress: Progress | None = None) -> SteerSweep:
    """α through `alphas` (in s.alpha_unit): per α the next-token distribution, the targets' probabilities and a
    continuation with its coherence. Every α is a row of the same batches (engine/batching.py), clean included.
    Without `targets`, the clean top token and each α's top token are followed (at most four)."""
    alphas = [float(a) for a in alphas]
    if not alphas or not all(math.isfinite(a) for a in alphas):
        raise UserError("Give at least one finite α value, e.g. -8:8:9.")
    budgets().sweep_points.check(len(alphas))
    given = _target_ids(lm, targets)
    enc, pos, d, clean, norm = _prepare(lm, prompt, direction, s, generate)
    T = len(enc.tokens)
    tick = _steps(progress, 2 + len(alphas) + max(0, int(generate)))
    tick("Clean run")
    deltas = [steering_vector(d.vector, s.at(alpha=a), norm) for a in alphas]
    per_row: list[Mapping] = [{s.hook_site: make_steer(dl, s, T)} for dl in deltas]
    n_rows = rows_per_pass(T, lm.device)
    logits = []
    for start in range(0, len(per_row), n_rows):
        chunk = per_row[start:start + n_rows]
        resid, _ = final_resid(lm, enc.input_ids.expand(len(chunk), -1), row_interventions(chunk))  # (B, T, D)
        logits += list(_decode(lm, resid, pos))
        for a in alphas[start:start + len(chunk)]:
            tick(f"Sweep: α = {a:g}")
    if not targets:
        tops = [int(clean.argmax()), *(int(lg.argmax()) for lg in logits)]
        targets = tuple(lm.token_strings(list(dict.fromkeys(tops))[:MAX_TARGETS]))
        ids = list(dict.fromkeys(tops))[:MAX_TARGETS]
    else:
        ids = given
    gens: list[tuple[int, ...]] = [() for _ in range(len(alphas) + 1)]
    coh: list[float | None] = [None] * (len(alphas) + 1)
    if generate:
        sub = None if progress is None else (lambda f, m: tick(m))
        gens = generate_rows(lm, enc.input_ids, int(generate), [{}, *per_row], sample, sub, "Sweep generation")
        coh = coherence(lm, enc.input_ids, gens)
    points = tuple(SteerPoint(a, float(dl.norm()), _side(lm, lg, None, top_k), _probs(lg, ids),
                              Continuation(tuple(lm.token_strings(g)), c),
                              first_divergence(gens[0], g) if generate else None)
                   for a, dl, lg, g, c in zip(alphas, deltas, logits, gens[1:], coh[1:]))
    return SteerSweep(s, d, lm.spec.name, enc.tokens, pos, str(s.hook_site), norm, tuple(targets),
                      _side(lm, clean, None, top_k), _probs(clean, ids),
                      Continuation(tuple(lm.token_strings(gens[0])), coh[0]), points, _sampling(sample))


def hook_for(lm: LoadedModel, d: Direction, s: Steer, prompt_len: int, norm: float) -> dict[Site, object]:
    """The steering hook as `lm.run(interventions=...)` takes it (for callers that run their own passes)."""
    return {s.hook_site: make_steer(steering_vector(d.vector, s, norm), s, prompt_len)}
