"""Honest run-time estimates from measured throughput, kept on disk per (model, device, dtype, kind of work).

Work is counted in floating-point operations (`forward_flops`: blocks actually run, so a site's depth counts,
plus vocabulary decodes). Each finished run records the FLOP/s it achieved (`observe`); an estimate divides a
run's FLOPs by the rate measured for that kind on that model, device and dtype (a moving average over runs,
kept in <cache>/estimates.json through atomic_write, so every process and restart shares it). Before any run of
a kind, a one-off calibration forward (64 tokens through every block, about a second on a CPU) gives the rate.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

from interp_core.results import atomic_write
from interp_core.settings import load_settings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

KINDS = ("seed", "scan", "dist", "lens", "sweep", "ablate", "generate", "calibration", "sae_train")
SMOOTHING = 0.5  # weight of the newest measurement in the moving average
MIN_SECONDS = 0.05  # shorter runs say nothing reliable about throughput
CALIBRATION_TOKENS = 64
MAX_ENTRIES = 200
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Estimate:
    seconds: float
    source: str  # "measured" (runs of this kind), "calibrated" (the calibration forward) or "prior"

    @property
    def text(self) -> str:
        how = {"measured": "from earlier runs on this machine", "calibrated": "from a calibration run",
               "prior": "a rough guess"}[self.source]
        return f"{fmt_seconds(self.seconds)} ({how})"


def fmt_seconds(s: float) -> str:
    """'under a second', 'about 3 s', 'about 4 min', 'about 2.6 h'."""
    if s < 1:
        return "under a second"
    if s < 90:
        return f"about {s:.0f} s"
    if s < 90 * 60:
        return f"about {s / 60:.0f} min"
    return f"about {s / 3600:.1f} h"


def forward_flops(info, tokens: int, *, layers: int | None = None, logit_rows: int = 0) -> float:
    """FLOPs of `tokens` tokens through `layers` blocks (default all) plus `logit_rows` vocabulary decodes."""
    n_layers = info.n_layers if layers is None else min(max(int(layers), 0), info.n_layers)
    per_token_block = 2 * info.d_model * (4 * info.d_model + 3 * info.d_mlp)
    return float(tokens) * n_layers * per_token_block + 2.0 * logit_rows * info.d_model * info.vocab_size


# --- the work of each method -------------------------------------------------------------------------------
def seed_flops(info, samples: int, batch_size: int, seq_len: int, block: int) -> float:
    """The seed method: samples × batch × seq_len tokens up to the site's block (index of the last block run)."""
    return forward_flops(info, samples * batch_size * seq_len, layers=block + 1)


def scan_flops(info, tokens: int, block: int) -> float:
    return forward_flops(info, tokens, layers=block + 1)


def sae_train_flops(info, tokens: int, epochs: int, block: int, d_in: int, latents: int) -> float:
    """Training an SAE: each epoch runs the model up to the site's block and the SAE forward and backward
    (about 3 x the encoder and decoder products) on every training token."""
    return epochs * (forward_flops(info, tokens, layers=block + 1) + 3 * 4.0 * tokens * d_in * latents)


def dist_flops(info, tokens: int) -> float:
    return forward_flops(info, tokens)


def lens_flops(info, prompt_tokens: int, n_states: int) -> float:
    """Forward pass + `n_states` hidden states (engine.sites.n_site_layers("resid", …)) decoded at every position."""
    return forward_flops(info, prompt_tokens, logit_rows=n_states * prompt_tokens)


def sweep_flops(info, points: int, prompt_tokens: int) -> float:
    return forward_flops(info, (points + 1) * prompt_tokens, logit_rows=points + 1)


def ablate_flops(info, prompt_tokens: int, generate: int = 0) -> float:
    """Clean and ablated passes, and greedy generation with the KV cache (each new token runs once)."""
    return forward_flops(info, 2 * (prompt_tokens + generate), logit_rows=2 * (1 + generate))


# --- measured rates ------------------------------------------------------------------------------------------
def _key(lm: LoadedModel, kind: str) -> str:
    spec = lm.spec
    return "|".join([spec.name, spec.revision or "", str(spec.device), str(spec.dtype), kind])


def _path():
    return load_settings().cache_dir / "estimates.json"


def _read() -> dict:
    try:
        data = json.loads(_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def rate(lm: LoadedModel, kind: str) -> float | None:
    """Measured FLOP/s of this kind of work on this model, device and dtype (None before any run)."""
    entry = _read().get(_key(lm, kind))
    r = entry.get("flops_per_s") if isinstance(entry, dict) else None
    return float(r) if isinstance(r, (int, float)) and r > 0 else None


def observe(lm: LoadedModel, kind: str, flops: float, seconds: float) -> None:
    """Record what a finished run achieved (moving average); runs under MIN_SECONDS are ignored."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; one of {KINDS}")
    if not (flops > 0 and seconds > MIN_SECONDS):
        return
    new = flops / seconds
    with _LOCK:
        data = _read()
        key = _key(lm, kind)
        old = data.get(key, {}).get("flops_per_s") if isinstance(data.get(key), dict) else None
        avg = new if not old else SMOOTHING * new + (1 - SMOOTHING) * float(old)
        runs = int(data.get(key, {}).get("runs", 0)) + 1 if isinstance(data.get(key), dict) else 1
        data[key] = {"flops_per_s": avg, "runs": runs, "updated": time.time()}
        if len(data) > MAX_ENTRIES:  # temporary models (tests, uploads) must not grow the file forever
            keep = sorted(data, key=lambda k: data[k].get("updated", 0) if isinstance(data[k], dict) else 0)
            data = {k: data[k] for k in keep[-MAX_ENTRIES:]}
        atomic_write(_path(), lambda tmp: tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8"))


def calibrate(lm: LoadedModel) -> float:
    """FLOP/s of one full forward pass of CALIBRATION_TOKENS tokens (measured once per model/device/dtype)."""
    known = rate(lm, "calibration")
    if known:
        return known
    import torch

    ids = torch.randint(0, lm.adapter.vocab_size, (1, CALIBRATION_TOKENS))
    lm.run(ids[:, :8], need_logits=False)  # warm-up: first-call allocations are not throughput
    t0 = time.perf_counter()
    lm.run(ids, need_logits=False)
    seconds = max(time.perf_counter() - t0, 1e-3)
    flops = forward_flops(lm.info, CALIBRATION_TOKENS)
    observe(lm, "calibration", flops, max(seconds, MIN_SECONDS * 1.01))
    return flops / seconds


def estimate(lm: LoadedModel, kind: str, flops: float, *, calibrate_if_needed: bool = True) -> Estimate:
    """Seconds this much work of `kind` should take here: measured rate, else calibration, else a prior."""
    r = rate(lm, kind)
    if r:
        return Estimate(flops / r, "measured")
    c = rate(lm, "calibration") or (calibrate(lm) if calibrate_if_needed else None)
    if c:
        return Estimate(flops / c, "calibrated")
    return Estimate(flops / 4e9, "prior")


class timed:
    """`with timed(lm, kind, flops): run()` records the run's throughput when it finishes without an error."""

    def __init__(self, lm: LoadedModel, kind: str, flops: float) -> None:
        self.lm, self.kind, self.flops = lm, kind, flops

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            observe(self.lm, self.kind, self.flops, time.perf_counter() - self.t0)
