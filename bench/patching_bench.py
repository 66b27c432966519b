"""Activation patching benchmark: time of each exact grid (batched) and of the attribution screen, the
correlation of attribution estimates with exact patches over every head, the backward pass's peak memory
against an inference pass on a 16-token pair, and the peer ways (one forward per patch: PyTorch hooks, nnsight,
TransformerLens; bench/patching_peers.py), each checked against the batched grid's numbers.

    python bench/patching_bench.py                      # embedded gemma-3-270m on the CPU
    python bench/patching_bench.py --device cuda        # on a GPU; with LOOKING_GLASS_CACHE from
                                                        # bench/random_gemma.py: Gemma's real architecture, random weights
Prints one JSON object (and writes it to --out). Needs no streamlit / plotly.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path


import numpy as np  # noqa: E402
import torch  # noqa: E402

CLEAN, CORRUPT = "The Eiffel Tower is located in the city of", "The Colosseum is located in the city of"  # 10 tokens
MEM_CLEAN = "When Mary and John went to the big store, John gave a drink to"  # 16 tokens on gemma-3-270m
MEM_CORRUPT = "When Mary and John went to the big store, Mary gave a drink to"


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _load(args):
    from interp_core import load_model, make_spec

    return load_model(make_spec(args.model, device=args.device))


def sweeps(lm, args) -> dict:
    """Ablation sweeps (zero each MLP layer; zero each head) with many points per pass (the default) vs one point
    per pass, and the largest difference between the two in any point's KL."""
    import sys as _sys

    from interp_core.ablation import Ablation, sweep

    mod = _sys.modules["interp_core.ablation.sweep"]
    real = mod.rows_per_pass
    out = {}
    for kind, ab in (("layers", Ablation("mlp_out", 0, "zero")), ("heads", Ablation("attn_out", 0, "zero"))):
        timing = {}
        for name, rows in (("batched", real), ("one_per_pass", lambda n, device=None: 1)):
            mod.rows_per_pass = rows
            try:
                sweep(lm, args.clean, ab, kind, target=args.target)  # warm-up
                _sync(args.device)
                t0 = time.perf_counter()
                sw = sweep(lm, args.clean, ab, kind, target=args.target)
                _sync(args.device)
                timing[name] = (time.perf_counter() - t0, [p.kl for p in sw.points])
            finally:
                mod.rows_per_pass = real
        (tb, kb), (t1, k1) = timing["batched"], timing["one_per_pass"]
        out[kind] = {"points": len(kb), "batched_s": tb, "one_per_pass_s": t1, "speedup": t1 / tb,
                     "max_abs_kl_diff": max(abs(a - b) for a, b in zip(kb, k1))}
        print(f"sweep {kind}: {out[kind]}", file=sys.stderr, flush=True)
    return out


def _hf_path(model: str) -> str:
    """A folder (or hub id) with the model's config.json, as TransformerLens's boot wants one."""
    from interp_core.engine.embedded import gemma_cache_dir

    return str(gemma_cache_dir()) if model == "gemma-3-270m" else model


def peers(lm, args, grid) -> dict:
    """The peer loops (bench/patching_peers.py) on the same pair, each checked against the batched resid grid on
    the cells it ran. A peer whose package is missing is reported as such."""
    import patching_peers

    ce, ke = lm.encode(args.clean).input_ids.to(lm.device), lm.encode(args.corrupt).input_ids.to(lm.device)
    m = grid.metric
    metric = lambda logits: float(m.value(float(logits[m.target_id] - logits[m.foil_id])))  # noqa: E731
    out = {}
    ways = {"torch_hooks": lambda: patching_peers.torch_hooks(lm, ce, ke, metric, args.peer_limit),
            "nnsight": lambda: patching_peers.nnsight_loop(lm, ce, ke, metric, args.peer_limit),
            # last: TransformerBridge switches the shared HF model to eager attention
            "transformer_lens": lambda: patching_peers.transformer_lens_loop(lm, ce, ke, metric, args.peer_limit,
                                                                             _hf_path(args.model))}
    for name, run in ways.items():
        if name not in args.peers.split(","):
            continue
        try:
            r = run()
        except ImportError as e:
            out[name] = {"skipped": f"not installed: {e}"}
            continue
        exact = [float(grid.values[l, p]) for l, p in r["cells"]]
        r["max_abs_diff_vs_batched_grid"] = max(abs(a - b) for a, b in zip(r.pop("values"), exact))
        r.pop("cells")
        r["batched_grid_speedup"] = r["seconds_full_grid_extrapolated"] / args._resid_seconds
        out[name] = r
        print(f"peer {name}: {r}", file=sys.stderr, flush=True)
    return out


def _rss_peak(fn) -> tuple[int, int]:
    """(RSS before, peak RSS while fn runs), sampled every 2 ms (CPU)."""
    import psutil

    proc = psutil.Process()
    before = proc.memory_info().rss
    peak = [before]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.002)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        fn()
    finally:
        stop.set()
        th.join()
    return before, max(peak[0], proc.memory_info().rss)


def memory_child(args) -> dict:
    """In a fresh process: the peak memory of one mode ('inference' or 'attribution') on the 16-token pair."""
    from interp_core.engine.sites import Site
    from interp_core.patching import attribute

    lm = _load(args)
    ids = lm.encode(MEM_CLEAN).input_ids
    n_tokens = ids.shape[1]
    last = Site("resid", lm.adapter.n_layers)
    if args.memory_child == "inference":
        def work():
            for text in (MEM_CLEAN, MEM_CORRUPT):  # the same two prompts, as a plain inference pass each
                with torch.inference_mode():
                    lm.run(lm.encode(text).input_ids, capture=[last], need_logits=True)
    else:
        def work():
            attribute(lm, MEM_CLEAN, MEM_CORRUPT, args.mem_target, args.mem_foil)
    if str(lm.device).startswith("cuda"):
        work()  # warm-up (allocator, kernels), then measure; on the CPU the first pass is measured (RSS only grows)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        work()
        torch.cuda.synchronize()
        return {"mode": args.memory_child, "tokens": n_tokens, "before_bytes": before,
                "peak_bytes": torch.cuda.max_memory_allocated(), "measure": "torch.cuda.max_memory_allocated"}
    before, peak = _rss_peak(work)
    return {"mode": args.memory_child, "tokens": n_tokens, "before_bytes": before, "peak_bytes": peak,
            "measure": "process RSS sampled every 2 ms"}


def memory(args) -> dict:
    out = {}
    for mode in ("inference", "attribution"):
        cmd = [sys.executable, __file__, "--model", args.model, "--device", args.device, "--memory-child", mode,
               "--mem-target", args.mem_target, "--mem-foil", args.mem_foil]
        r = subprocess.run(cmd, capture_output=True, text=True, check=True, env=os.environ.copy())
        out[mode] = json.loads(r.stdout.strip().splitlines()[-1])
    inf, att = out["inference"], out["attribution"]
    out["ratio_total_peak"] = att["peak_bytes"] / inf["peak_bytes"]
    extra_inf = max(1, inf["peak_bytes"] - inf["before_bytes"])
    out["ratio_extra_over_loaded"] = (att["peak_bytes"] - att["before_bytes"]) / extra_inf
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="gemma-3-270m")
    p.add_argument("--device", default="cpu")
    p.add_argument("--clean", default=CLEAN)
    p.add_argument("--corrupt", default=CORRUPT)
    p.add_argument("--target", default=" Paris")
    p.add_argument("--foil", default=" Rome")
    p.add_argument("--grids", default="resid,attn_out,mlp_out,heads")
    p.add_argument("--peer-limit", type=int, default=40, help="peer loop: time this many runs, extrapolate the rest")
    p.add_argument("--peers", default="torch_hooks,nnsight,transformer_lens", help="peer loops to run ('' = none)")
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--no-sweeps", action="store_true", help="skip the ablation sweeps (batched vs one point per pass)")
    p.add_argument("--mem-target", default=" John", help="answer tokens of the 16-token memory pair")
    p.add_argument("--mem-foil", default=" Mary")
    p.add_argument("--out", default=None)
    p.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--only-memory", action="store_true", help="just the 16-token memory comparison")
    args = p.parse_args()
    if args.memory_child:
        print(json.dumps(memory_child(args)))
        return
    if args.only_memory:
        print(json.dumps(memory(args), indent=2))
        return
    from interp_core.patching import all_heads, attribute, exact_check, patch_grid, prepare

    lm = _load(args)
    res = {"model": args.model, "device": str(lm.device), "torch_threads": torch.get_num_threads(),
           "clean": args.clean, "corrupt": args.corrupt, "tokens": len(lm.encode(args.clean).tokens), "grids": {}}
    prep = prepare(lm, args.clean, args.corrupt, args.target, args.foil)
    patch_grid(lm, "", "", "", grid="heads", prep=prep)  # warm-up
    for g in args.grids.split(","):
        _sync(args.device)
        t0 = time.perf_counter()
        grid = patch_grid(lm, "", "", "", grid=g, prep=prep)
        _sync(args.device)
        res["grids"][g] = {"runs": int(grid.values.size), "seconds": time.perf_counter() - t0}
        print(f"grid {g}: {res['grids'][g]}", file=sys.stderr, flush=True)
    if not args.no_sweeps:
        res["sweeps"] = sweeps(lm, args)
    attribute(lm, args.clean, args.corrupt, args.target, args.foil)  # warm-up
    _sync(args.device)
    t0 = time.perf_counter()
    attr = attribute(lm, args.clean, args.corrupt, args.target, args.foil)
    _sync(args.device)
    res["attribution"] = {"seconds": time.perf_counter() - t0}
    print(f"attribution: {res['attribution']}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    check = exact_check(lm, attr, all_heads(lm))
    res["heads_check"] = {"heads": len(check.components), "seconds": time.perf_counter() - t0,
                          "correlation_estimate_exact": check.correlation,
                          "spearman": float(np.corrcoef(np.argsort(np.argsort(check.estimates)),
                                                        np.argsort(np.argsort(check.exact)))[0, 1])}
    print(f"heads check: {res['heads_check']}", file=sys.stderr, flush=True)
    if args.peers:
        resid = patch_grid(lm, "", "", "", grid="resid", prep=prep)
        args._resid_seconds = res["grids"].get("resid", {}).get("seconds", resid.seconds)
        res["peers"] = peers(lm, args, resid)
    if not args.no_memory:
        res["memory_16_tokens"] = memory(args)
    text = json.dumps(res, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
