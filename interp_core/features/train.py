"""`sae train`: a TopK SAE on one site of a model, fed by the scan pipeline's batched capture (neurons/scan_pass.py),
evaluated on held-out windows (explained variance, L0, dead latents, the model's loss with the SAE spliced in) and
saved in the SAELens format under the cache's `saes/`."""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
import torch

from interp_core.budgets import budgets
from interp_core.data.tokens import TokenizedCorpus
from interp_core.engine.model import LoadedModel
from interp_core.engine.scheduler import scheduled
from interp_core.engine.sites import Site, site_width
from interp_core.errors import UserError
from interp_core.estimates import estimate_s, sae_train_flops
from interp_core.features.formats import save_saelens
from interp_core.features.hooknames import TRAIN_SITES, hook_of_site, train_site
from interp_core.features.sae import SAE
from interp_core.features.splice import next_token_loss, reconstruction
from interp_core.features.store import forget, trained_dir
from interp_core.features.topk_train import TopKTrainer, TrainConfig
from interp_core.neurons.scan_pass import run_batches
from interp_core.neurons.scan_state import ScanState
from interp_core.results import Progress

REPORT_COLUMNS = ["metric", "value"]
KEEP_BYTES = 1 << 29  # training activations up to this size are kept in memory for the later epochs


@dataclass(frozen=True)
class TrainReport:
    """What a trained SAE achieves on held-out tokens, and how it was trained."""

    name: str
    path: str
    metrics: dict  # explained_variance, l0, dead_fraction, clean_loss, spliced_loss, mean_ablated_loss, ...
    provenance: dict

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"metric": list(self.metrics), "value": list(self.metrics.values())}, columns=REPORT_COLUMNS)

    def to_dict(self) -> dict:
        return {"name": self.name, "path": self.path, **self.metrics, "provenance": self.provenance}


class _Sink:
    """Stands where a ScanState would in `run_batches`: each captured (N, D) chunk goes to `fn`."""

    def __init__(self, fn) -> None:
        self.fn = fn

    def update(self, acts: torch.Tensor, gidx: np.ndarray) -> None:
        self.fn(acts)


def _stream(lm: LoadedModel, tc: TokenizedCorpus, site: Site, batches, fn, on_batch=None) -> None:
    run_batches(lm, tc, {0: site}, {0: cast(ScanState, _Sink(fn))}, batches, on_batch)


def _batches(starts: np.ndarray, seq_len: int, batch_size: int) -> list[tuple[np.ndarray, int]]:
    return [(starts[i:i + batch_size], seq_len) for i in range(0, len(starts), batch_size)]


def default_name(lm: LoadedModel, site: str, layer: int, latents: int, k: int) -> str:
    model = re.sub(r"[^A-Za-z0-9._-]+", "-", lm.spec.name.rstrip("/").split("/")[-1])
    return f"{model}-{site}{layer}-topk{latents}-k{k}"


def plan(lm: LoadedModel, tc: TokenizedCorpus, *, site: str, layer: int, latents: int, epochs: int,
         max_tokens: int | None, seq_len: int) -> tuple[Site, int, float]:
    """(hook site, training tokens, FLOPs) — checks the inputs before any work."""
    hook = train_site(site, layer)
    lm.adapter.check_site(hook)
    tc.check_window(seq_len, lm.adapter.n_ctx)
    n = tc.n_tokens if max_tokens is None else min(tc.n_tokens, max_tokens)
    if n < 2 * seq_len:
        raise UserError(f"Training needs at least two windows of {seq_len} tokens; the corpus gives {n:,}.")
    if not 1 <= epochs <= 100:
        raise UserError(f"Epochs must be between 1 and 100 (got {epochs}).")
    budgets().scan_tokens.check(n)
    return hook, n, sae_train_flops(lm.info, n, epochs, hook.block, site_width(hook.kind, lm.adapter), latents)


@scheduled("long")
def train_sae(lm: LoadedModel, tc: TokenizedCorpus, *, site: str = "resid_post", layer: int, latents: int = 4096,
              k: int = 32, epochs: int = 1, max_tokens: int | None = None, seq_len: int = 128, batch_size: int = 8,
              held_out: float = 0.1, lr: float = 1e-3, seed: int = 0, name: str | None = None,
              progress: Progress | None = None) -> TrainReport:
    """Train, evaluate and save a TopK SAE at (site, layer); `progress(fraction, message)` may raise to cancel."""
    hook, n, flops = plan(lm, tc, site=site, layer=layer, latents=latents, epochs=epochs, max_tokens=max_tokens,
                        seq_len=seq_len)
    if not 0 < held_out < 0.5:
        raise UserError(f"The held-out share must be between 0 and 0.5 (got {held_out}).")
    d_in = site_width(hook.kind, lm.adapter)
    trainer = TopKTrainer(d_in, TrainConfig(latents=latents, k=k, lr=lr, seed=seed), lm.device)
    starts: np.ndarray = np.arange(n // seq_len, dtype=np.int64) * seq_len  # full windows only
    n_held = max(1, math.ceil(len(starts) * held_out))
    train_b, held_b = _batches(starts[:-n_held], seq_len, batch_size), _batches(starts[-n_held:], seq_len, batch_size)
    n_train = (len(starts) - n_held) * seq_len
    t0, done = time.perf_counter(), [0]

    def tick(tokens: int) -> None:
        done[0] += tokens
        frac = done[0] / (n_train * epochs)
        left = (time.perf_counter() - t0) * (1 - frac) / max(frac, 1e-9)
        if progress is not None:
            progress(min(frac, 1.0), f"epoch {done[0] // n_train + (frac < 1)}/{epochs} · {done[0]:,} / "
                     f"{n_train * epochs:,} tokens · loss {trainer.last_loss:.3f} · about {left:.0f} s left")

    kept: list[torch.Tensor] | None = [] if n_train * d_in * 4 <= KEEP_BYTES else None

    def feed(acts: torch.Tensor) -> None:
        trainer.feed(acts)
        if kept is not None:
            kept.append(acts.detach().reshape(-1, d_in).to("cpu", torch.float32, copy=True))

    for epoch in range(epochs):
        trainer.begin_epoch()
        if epoch == 0 or kept is None:  # the model runs once; later epochs replay its activations when they fit
            _stream(lm, tc, hook, train_b, feed, tick)
        else:
            for chunk in kept:
                trainer.feed(chunk)
                tick(chunk.shape[0])
        trainer.flush()
    seconds = time.perf_counter() - t0
    sae = trainer.sae(hook_of_site(hook), lm.spec.name)
    metrics = {**evaluate(lm, tc, sae, hook, held_b), "dead_fraction": trainer.dead_fraction(),
               "train_tokens": n_train * epochs, "held_out_tokens": n_held * seq_len, "seconds": round(seconds, 1),
               "estimate_seconds": round(estimate_s(repr(lm.spec), "sae_train", flops), 1)}
    name = name or default_name(lm, site, layer, latents, k)
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,120}", name) or name.startswith("."):
        raise UserError(f"'{name}' is not a usable SAE name; use letters, digits, '.', '_' and '-'.")
    prov = {"model": lm.spec.name, "site": site, "layer": layer, "hook_site": str(hook), "latents": latents, "k": k,
            "epochs": epochs, "lr": lr, "seq_len": seq_len, "seed": seed, **tc.provenance(),
            "method": "TopK SAE (Gao et al. 2024): AuxK 1/32, unit-norm decoder rows, Adam"}
    path = save_saelens(sae, trained_dir() / name, {"looking_glass_report": {**metrics, **prov}})
    forget(name)
    return TrainReport(name, str(path), metrics, prov)


def evaluate(lm: LoadedModel, tc: TokenizedCorpus, sae: SAE, hook: Site, batches) -> dict:
    """Held-out explained variance, L0, and the model's next-token loss clean / SAE spliced in / site mean-ablated."""
    acc = {"sse": 0.0, "sum": torch.zeros(sae.d_in, dtype=torch.float64), "sq": 0.0, "n": 0, "l0": 0.0}

    def fold(acts: torch.Tensor) -> None:
        x = acts.reshape(-1, sae.d_in).float().cpu()
        z = sae.encode(x)
        acc["sse"] += float((x - sae.decode(z, x)).pow(2).sum())
        acc["sum"] += x.double().sum(0)
        acc["sq"] += float(x.double().pow(2).sum())
        acc["n"] += x.shape[0]
        acc["l0"] += float((z > 0).sum())

    _stream(lm, tc, hook, batches, fold)
    n = max(acc["n"], 1)
    mean = (acc["sum"] / n).float()
    total_var = acc["sq"] - n * float(mean.double().pow(2).sum())
    out = {"explained_variance": 1 - acc["sse"] / max(total_var, 1e-12), "l0": acc["l0"] / n}
    if lm.adapter.has_lm_head and not lm.adapter.masked_lm:
        losses = {"clean_loss": 0.0, "spliced_loss": 0.0, "mean_ablated_loss": 0.0}
        p = len(tc.prefix)  # BOS stays as the model made it: the SAE never saw it in training

        def content(fn):
            return {hook: lambda x: torch.cat([x[:, :p], fn(x)[:, p:]], 1)}
        variants = {"clean_loss": None, "spliced_loss": content(reconstruction(sae, hook)[hook]),
                    "mean_ablated_loss": content(lambda x: mean.to(x.device, x.dtype).expand_as(x))}
        with torch.inference_mode():
            for starts, t in batches:
                ids = tc.batch(starts, t, lm.device)  # (B, P+t)
                for key, iv in variants.items():
                    logits = lm.run(ids, interventions=iv).logits
                    losses[key] += float(next_token_loss(logits, ids)) * len(starts) / sum(len(s) for s, _ in batches)
        gap = losses["mean_ablated_loss"] - losses["clean_loss"]
        out.update(losses, loss_recovered=(losses["mean_ablated_loss"] - losses["spliced_loss"]) / gap if gap else None)
    return out


__all__ = ["TRAIN_SITES", "TrainReport", "default_name", "plan", "train_sae"]
