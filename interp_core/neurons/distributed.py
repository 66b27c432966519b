"""Scans sharded over a Ray cluster: one model per actor (one GPU each when the cluster has GPUs).

The driver plans the same window batches as the single-process scan and gives each actor a contiguous run
of them, so every actor computes bit-identical activations; the per-shard ScanStates merge exactly (see
scan_state.py). Work goes out in small chunks so the driver can report progress across the cluster and
cancel: when `progress` raises, every actor is killed and nothing is kept. Ray is optional
(`pip install -r requirements-ray.txt`); without it, asking for it is one clear error.
"""
from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from interp_core.engine.integrity import weight_fingerprint
from interp_core.errors import UserError
from interp_core.neurons.scan_state import ScanState
from interp_core.results import Progress
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

CHUNKS_PER_WORKER = 20  # progress granularity: each actor's shard goes out in about this many calls
_ENV_PREFIXES = ("LOOKING_GLASS_", "HF_", "TRANSFORMERS_", "TOKENIZERS_")
_POOLS: dict[tuple, list] = {}  # (spec, address, gpus, threads) -> live actors, reused by later scans


class ScanWorker:
    """A Ray actor body: loads the model once, then runs the batches it is sent into fresh per-scan states."""

    def __init__(self, spec, threads: int):
        import torch

        from interp_core.engine.loading import load_model

        # CPU matmuls round differently with another intra-op thread count: use the driver's, so every
        # activation is bit-identical to the single-process scan (Ray's num_cpus=1 only schedules).
        torch.set_num_threads(threads)
        self.lm = load_model(spec)
        self.states: dict[int, ScanState] = {}
        self.tc: Any = None  # the tokenized corpus, sent with begin()

    def fingerprint(self) -> str:
        return weight_fingerprint(self.lm)

    def begin(self, tc, sites: dict, width: int, top_k: int, threshold: float, saes: dict[str, str]) -> dict[str, str]:
        """Take a scan; attach each SAE id in `saes` ({id: the driver's fingerprint}) -> {id: the fingerprint here}."""
        from interp_core.features.store import attach, forget

        self.tc, self.sites = tc, sites
        got = {}
        for sae_id, want in saes.items():  # an SAE memoized here before it was retrained in place: load it again
            got[sae_id] = attach(self.lm, sae_id)[1].fingerprint()
            if got[sae_id] != want:
                forget(sae_id)
                got[sae_id] = attach(self.lm, sae_id)[1].fingerprint()
        self.states = {layer: ScanState.empty(width, top_k, self.lm.device, threshold) for layer in sites}
        return got

    def run(self, batches: list) -> int:
        from interp_core.neurons.scan_pass import run_batches

        run_batches(self.lm, self.tc, self.sites, self.states, batches)
        return int(sum(len(s) * t for s, t in batches))

    def finish(self) -> dict:
        out = {layer: st.to("cpu") for layer, st in self.states.items()}
        self.states, self.tc = {}, None
        return out


def _ray():
    try:
        import ray
    except ImportError:
        raise UserError("Ray is not installed; run `pip install -r requirements-ray.txt` (or the 'ray' extra), "
                        "or scan without --ray."
                        ) from None
    return ray


def connect(address: str = "auto"):
    """Join the cluster at `address` ('auto': the running local cluster or RAY_ADDRESS, else start one here)."""
    ray = _ray()
    if ray.is_initialized():
        return ray
    root = str(Path(__file__).resolve().parents[2])
    env = {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)}
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])
    runtime_env: dict[str, Any] = {"env_vars": env}
    if address not in (None, "", "auto", "local"):
        runtime_env["py_modules"] = [str(Path(root) / "interp_core")]  # remote nodes get this code
    try:
        ray.init(address=None if address in (None, "", "auto", "local") else address, runtime_env=runtime_env,
                 include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise UserError(f"Could not reach the Ray cluster at '{address}': {str(e).splitlines()[0][:200]}") from e
    return ray


def _pool(ray, spec, address, workers: int | None, n_batches: int) -> tuple[list, tuple]:
    import torch

    gpus = int(ray.cluster_resources().get("GPU", 0))
    cpus = int(ray.cluster_resources().get("CPU", 1))
    n = workers or (gpus if gpus else max(1, cpus))
    if n < 1:
        raise UserError(f"The number of Ray workers must be at least 1 (got {n}).")
    n = min(n, n_batches)
    threads = torch.get_num_threads()
    key = (spec, address, gpus > 0, threads)
    if len(_POOLS.get(key, ())) < n:  # a bigger pool serves smaller scans with its first n actors
        for old in list(_POOLS):  # one pool at a time: an idle pool of another model would hold the CPUs the
            shutdown_pool(old)    # new actors need, and they would wait for them forever
        worker_spec = replace(spec, device="cuda" if gpus else "cpu",
                              dtype=spec.dtype if gpus or spec.dtype == "float32" else "float32")
        if gpus and n > gpus:
            raise UserError(f"The Ray cluster has {gpus} GPUs; ask for at most {gpus} workers (one model per GPU).")
        # CPU actors share the cluster's CPUs (fractions when there are more workers than CPUs, never a hang)
        opts = {"num_gpus": 1} if gpus else {"num_cpus": min(1.0, max(cpus, 1) / n)}
        cls = ray.remote(**opts)(ScanWorker)
        _POOLS[key] = [cls.remote(worker_spec, threads) for _ in range(n)]
    return _POOLS[key][:n], key


def shutdown_pool(key) -> None:
    ray = sys.modules.get("ray")
    for actor in _POOLS.pop(key, []):
        if ray is not None:
            ray.kill(actor)


def shards(n_batches: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous [lo, hi) batch ranges, sizes differing by at most one."""
    edges = np.linspace(0, n_batches, workers + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def ray_scan(lm: LoadedModel, tc, sites: dict, *, width: int, top_k: int, threshold: float, batches: list, n_used: int,
             address: str = "auto", workers: int | None = None, progress: Progress | None = None) -> dict:
    """{layer: merged ScanState} for the given batches, computed by Ray actors; exact merge in batch order."""
    from interp_core.features.store import load_sae

    ray = connect(address)
    actors, key = _pool(ray, lm.spec, address, workers, len(batches))
    try:
        prints = ray.get([a.fingerprint.remote() for a in actors])
        if any(p != weight_fingerprint(lm) for p in prints):
            raise UserError("The Ray workers loaded different weights than this process; give every node the "
                            "same model files.")
        tc_ref = ray.put(tc)
        saes = {s.sae: load_sae(s.sae).fingerprint() for s in sites.values() if s.kind == "sae"}
        try:
            begun = ray.get([a.begin.remote(tc_ref, sites, width, top_k, threshold, saes) for a in actors])
        except ray.exceptions.RayTaskError as e:  # e.g. a trained SAE's name that a worker's cache does not hold
            if isinstance(e.cause, UserError):
                raise UserError(f"On a Ray worker: {e.cause}") from None
            raise
        for got in begun:
            if got != saes:
                raise UserError("The Ray workers loaded a different SAE than this process ("
                                f"{', '.join(k for k in saes if got.get(k) != saes[k])}); give every node the same "
                                "SAE files.")
        queues = {}
        for actor, (lo, hi) in zip(actors, shards(len(batches), len(actors))):
            step = max(1, -(-(hi - lo) // CHUNKS_PER_WORKER))
            queues[actor] = [batches[i:min(i + step, hi)] for i in range(lo, hi, step)]
        pending = {a.run.remote(q.pop(0)): a for a, q in queues.items() if q}
        done = 0
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            actor = pending.pop(ready[0])
            done += ray.get(ready[0])
            if queues[actor]:
                pending[actor.run.remote(queues[actor].pop(0))] = actor
            if progress is not None:
                progress(done / n_used, f"{done:,} / {n_used:,} tokens on {len(actors)} Ray workers")
        parts = ray.get([a.finish.remote() for a in actors])
    except BaseException:
        shutdown_pool(key)  # cancel: stop every actor mid-shard; the next scan starts fresh ones
        raise
    merged = {}
    for layer in sites:
        state = parts[0][layer].to(lm.device)
        for p in parts[1:]:
            state.merge(p[layer])
        merged[layer] = state
    return merged
