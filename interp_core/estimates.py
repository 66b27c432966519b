"""Run-time estimates, one store for the app and every process: work counted in floating-point operations
(`forward_flops`: the blocks actually run, plus vocabulary decodes), divided by the rate runs of the same kind on
the same model identity (name, revision, device, dtype) achieved: the median of the latest KEEP_RATES, kept in
<cache>/estimates.json so a restart starts from them; a conservative prior before any run."""
from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from statistics import median
from typing import Any

from interp_core.results import atomic_write
from interp_core.settings import load_settings

# the one vocabulary of kinds of work (each learns its own rate)
KINDS = ("lens", "dist", "ablate", "sweep", "seed", "scan", "sae_train", "flow")
PRIOR_FLOPS_PER_S = 10e9  # a 2-core CPU on short sequences; replaced by the measured rate of the kind
PRIORS = {"seed": 20e9, "scan": 20e9}  # large batches run several times faster per FLOP
KEEP_RATES = 5  # the median of this many latest runs: one run slowed by a busy machine moves it little
MIN_SECONDS = 0.05  # shorter runs say nothing reliable about throughput
MAX_ENTRIES = 200
_LOCK = threading.Lock()
# this process's view of the cache file: "identity|kind" -> FLOP/s of the latest runs, read once per cache folder
_STATE: dict[str, Any] = {"path": None, "rates": {}}


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
    """Training an SAE: the model runs once up to the site's block (later epochs replay the kept activations), and
    every epoch runs the SAE forward and backward (about 3 x the encoder and decoder products) on every token."""
    return forward_flops(info, tokens, layers=block + 1) + epochs * 3 * 4.0 * tokens * d_in * latents


def dist_flops(info, tokens: int) -> float:
    return forward_flops(info, tokens)


def lens_flops(info, prompt_tokens: int, n_states: int) -> float:
    """Forward pass + `n_states` hidden states (engine.sites.n_site_layers("resid", …)) decoded at every position."""
    return forward_flops(info, prompt_tokens, logit_rows=n_states * prompt_tokens)


def flow_flops(info, prompt_tokens: int) -> float:
    """A forward pass plus the information flow decomposition: every (destination, source, head) part built and
    measured against its whole in d_model (about 8 operations per element), half the pairs under a causal mask."""
    t = prompt_tokens
    return forward_flops(info, t) + 8.0 * info.n_layers * info.n_heads * info.d_model * t * (t + 1) / 2


def sweep_flops(info, points: int, prompt_tokens: int) -> float:
    return forward_flops(info, (points + 1) * prompt_tokens, logit_rows=points + 1)


def ablate_flops(info, prompt_tokens: int, generate: int = 0, *, self_repair: bool = False,
                 patch: bool = False) -> float:
    """Clean and ablated passes, each greedy step counted as re-running the sequence (a KV-cached generation
    only makes the measured rate higher), self-repair two more passes, a patch one counterfactual pass."""
    n, g = prompt_tokens, generate
    tokens = 2 * sum(n + i for i in range(g + 1)) + (2 * n if self_repair else 0) + (n if patch else 0)
    return forward_flops(info, tokens, logit_rows=2 * (g + 1))


# --- measured rates ------------------------------------------------------------------------------------------
def _path() -> Path:
    return load_settings().cache_dir / "estimates.json"


def _read() -> dict[str, Any]:
    try:
        data = json.loads(_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _rates(entry: Any) -> list[float]:
    rates = entry.get("rates") if isinstance(entry, Mapping) else None
    return [float(r) for r in rates if isinstance(r, (int, float)) and r > 0][-KEEP_RATES:] if isinstance(
        rates, list) else []


def _known() -> dict[str, list[float]]:
    """The rates kept by earlier processes, read once per process and cache folder (call with _LOCK held)."""
    path = _path()
    if _STATE["path"] != path:
        _STATE["path"], _STATE["rates"] = path, {k: r for k, e in _read().items() if (r := _rates(e))}
    return _STATE["rates"]


def rate(model: str, kind: str) -> float | None:
    """The median measured FLOP/s of this kind of work on this model identity (None before any run)."""
    with _LOCK:
        rates = _known().get(f"{model}|{kind}")
        return median(rates) if rates else None


# kinds that run the same batched forward up to a block: before its own first run, one borrows the other's rate
# (a fresh server's warm-up measures the scan, so the seed method's first estimate is measured, not a prior)
SIBLINGS = {"seed": "scan", "scan": "seed"}


def estimate_s(model: str, kind: str, flops: float) -> float:
    """Seconds `flops` of work of this kind should take on this model identity."""
    sibling = SIBLINGS.get(kind)
    measured = rate(model, kind) or (rate(model, sibling) if sibling else None)
    return flops / (measured or PRIORS.get(kind, PRIOR_FLOPS_PER_S))


def cpu_busy() -> float:
    """How many runnable threads share each core now (the 1-minute load average over the cores, at least 1): a run
    on a busy CPU takes about this many times as long as on an idle one."""
    try:
        return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
    except OSError:
        return 1.0


def record(model: str, kind: str, flops: float, seconds: float) -> None:
    """Remember the rate a finished run achieved, `seconds` being its working time (without waits in a queue),
    here and in the cache file; runs shorter than MIN_SECONDS are ignored. The rate is the idle machine's: a run
    timed while other work shared the CPU counts as `cpu_busy()` times faster, so a busy afternoon does not
    inflate every later estimate (and keep a followed link from running by itself)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; one of {KINDS}")
    if not (flops > 0 and seconds > MIN_SECONDS):
        return
    key = f"{model}|{kind}"
    with _LOCK:
        known = _known()
        data = _read()  # other processes may have recorded since: their entries stay
        rates = (_rates(data.get(key)) or known.get(key, []))[-(KEEP_RATES - 1):] + [flops / seconds * cpu_busy()]
        known[key] = rates
        data[key] = {"rates": rates, "updated": time.time()}
        if len(data) > MAX_ENTRIES:  # temporary models (tests, uploads) must not grow the file forever
            keep = sorted(data, key=lambda k: data[k].get("updated", 0) if isinstance(data[k], dict) else 0)
            data = {k: data[k] for k in keep[-MAX_ENTRIES:]}
        text = json.dumps(data, indent=1, sort_keys=True)

        def write(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")
        atomic_write(_path(), write)  # a read-only cache: the rate still serves this process
