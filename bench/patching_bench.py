"""Activation patching benchmark: time of each exact grid (batched) and of the attribution screen, the
correlation of attribution estimates with exact patches over every head, the backward pass's peak memory
against an inference pass on a 16-token pair, and the peer way (one plain HF forward per patch).

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


def peer_loop(lm, clean: str, corrupt: str, target: str, foil: str, limit: int) -> dict:
    """The usual way: one plain forward of the HF model per patch (resid grid), a PyTorch hook writing the
    clean activation at one position; timed on `limit` cells and extrapolated to the whole grid."""
    model, a = lm.model, lm.adapter
    ce, ke = lm.encode(clean).input_ids, lm.encode(corrupt).input_ids
    tid, fid = lm.token_id(target), lm.token_id(foil)
    blocks = a.blocks()
    L, T = len(blocks), ce.shape[1]
    with torch.inference_mode():
        clean_h = model(input_ids=ce, output_hidden_states=True, use_cache=False).hidden_states  # L+1 x (1, T, D)
    cells = [(l, p) for l in range(L + 1) for p in range(T)]
    n = min(limit, len(cells))
    t0 = time.perf_counter()
    vals = []
    for l, p in cells[:n]:
        src = clean_h[l][0, p]

        def pre(module, args, kwargs, src=src, p=p):
            h = (args[0] if args else kwargs["hidden_states"]).clone()
            h[:, p] = src
            return ((h, *args[1:]), kwargs) if args else (args, {**kwargs, "hidden_states": h})

        def post(module, args, out, src=src, p=p):
            h = (out if isinstance(out, torch.Tensor) else out[0]).clone()
            h[:, p] = src
            return h if isinstance(out, torch.Tensor) else (h, *out[1:])

        handle = (blocks[0].register_forward_pre_hook(pre, with_kwargs=True) if l == 0
                  else blocks[l - 1].register_forward_hook(post))
        try:
            with torch.inference_mode():
                logits = model(input_ids=ke, use_cache=False).logits[0, -1]
            vals.append(float(logits[tid] - logits[fid]))
        finally:
            handle.remove()
    _sync(str(lm.device))
    dt = time.perf_counter() - t0
    return {"way": "one HF forward per patch (PyTorch hooks), resid grid", "timed_runs": n, "grid_runs": len(cells),
            "seconds_timed": dt, "seconds_per_run": dt / n, "seconds_full_grid_extrapolated": dt / n * len(cells)}


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
    p.add_argument("--no-memory", action="store_true")
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
    res["peer"] = peer_loop(lm, args.clean, args.corrupt, args.target, args.foil, args.peer_limit)
    if "resid" in res["grids"]:
        res["peer"]["speedup_resid_grid"] = res["peer"]["seconds_full_grid_extrapolated"] / res["grids"]["resid"]["seconds"]
    print(f"peer: {res['peer']}", file=sys.stderr, flush=True)
    if not args.no_memory:
        res["memory_16_tokens"] = memory(args)
    text = json.dumps(res, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
