"""Scaling benchmark: scan throughput vs Ray workers, batch size, all layers in one pass vs one pass
per layer, the auto-chosen batch vs the best measured one, and torch.compile on the bare forward and in the scan.

Needs only torch + transformers (+ ray for the worker part, skipped when ray is missing or on CUDA).

    python bench/scale_bench.py --device cpu --tokens 4096 --json                  # this machine
    python bench/scale_bench.py --device cuda --tokens 262144 --json               # a GPU (random-weight Gemma:
        # python bench/random_gemma.py .gpu/gemma-3-270m /tmp/lg && LOOKING_GLASS_CACHE=/tmp/lg ...)
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]

from interp_core import load_model, make_spec  # noqa: E402
from interp_core.data import Corpus, tokenize_corpus  # noqa: E402
from interp_core.neurons import scan_layers  # noqa: E402


def _sync(lm):
    if lm.device.type == "cuda":
        torch.cuda.synchronize(lm.device)


def timed_scan(lm, tc, **kw) -> tuple[float, dict]:
    """(tokens per second, results) of one uncached scan."""
    _sync(lm)
    t0 = time.perf_counter()
    out = scan_layers(lm, tc, use_cache=False, **kw)
    _sync(lm)
    dt = time.perf_counter() - t0
    n = next(iter(out.values())).provenance["n_tokens_scanned"]
    return n / dt, out


def bare_forward(lm, batch: int, seq_len: int, compiled: str | None, reps: int) -> float:
    """Tokens per second of the bare HF forward (no hooks; the LM head only at the last position, as a scan never
    needs logits: full logits for 512 x 256 tokens x 262k vocabulary would be 64 GiB), optionally torch.compile'd."""
    model = lm.model if compiled is None else torch.compile(lm.model, mode=compiled)
    ids = torch.randint(10, lm.adapter.vocab_size - 10, (batch, seq_len), device=lm.device)
    with torch.inference_mode():
        for _ in range(2):  # warm-up (and compilation)
            model(input_ids=ids, use_cache=False, logits_to_keep=1)
        _sync(lm)
        t0 = time.perf_counter()
        for _ in range(reps):
            model(input_ids=ids, use_cache=False, logits_to_keep=1)
        _sync(lm)
    return batch * seq_len * reps / (time.perf_counter() - t0)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="gemma-3-270m")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--text", default=str(ROOT / "assets" / "corpora" / "through_the_looking_glass.txt"))
    p.add_argument("--tokens", type=int, default=4096, help="corpus tokens per measured scan")
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--site", default="mlp")
    p.add_argument("--layer", type=int, default=6, help="the layer of the single-layer measurements")
    p.add_argument("--batches", default=None, help="batch sizes to sweep (default: CPU 4,16; CUDA 8..512)")
    p.add_argument("--workers", default="1,2", help="Ray worker counts (CPU only)")
    p.add_argument("--skip", default="", help="comma list of parts to skip: workers,batch,layers,auto,compile,scan_compile")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    skip = set(filter(None, a.skip.split(",")))
    lm = load_model(make_spec(a.model, device=a.device, dtype=a.dtype))
    cuda = lm.device.type == "cuda"
    text = Path(a.text).read_text(encoding="utf-8")
    tc = tokenize_corpus(lm, Corpus.from_text(text * max(1, -(-a.tokens * 5 // max(len(text), 1)))))
    n = min(a.tokens, tc.n_tokens)
    base = dict(site=a.site, seq_len=a.seq_len, top_k=20, max_tokens=n)
    out: dict = {"device": str(lm.device), "gpu": torch.cuda.get_device_name(lm.device) if cuda else None,
                 "dtype": lm.spec.dtype, "model": a.model, "tokens": n, "seq_len": a.seq_len,
                 "threads": torch.get_num_threads(), "n_layers": lm.adapter.n_layers}

    def log(key, value):
        out[key] = value
        print(f"{key}: {value}", file=sys.stderr, flush=True)

    batches = [int(b) for b in (a.batches or ("8,16,32,64,128,256,512" if cuda else "4,16")).split(",")]
    timed_scan(lm, tc, **base, layers=[a.layer], batch_size=batches[0])  # warm-up
    if "batch" not in skip:
        sweep = {}
        for b in batches:
            if b * a.seq_len > 4 * n:
                continue
            sweep[b] = round(timed_scan(lm, tc, **base, layers=[a.layer], batch_size=b)[0])
        log("batch_vs_tok_s", sweep)
    if "auto" not in skip:
        tps, res = timed_scan(lm, tc, **base, layers=[a.layer], batch_size=None)
        chosen = res[a.layer].provenance["batch_size"]
        best = max(out.get("batch_vs_tok_s", {}).values() or [tps])
        log("auto_batch", {"batch": chosen, "tok_s": round(tps), "fraction_of_best": round(tps / best, 3)})
    bsz = max(out.get("batch_vs_tok_s") or {16: 0}, key=lambda b: (out.get("batch_vs_tok_s") or {16: 0})[b])
    if "layers" not in skip:
        tps_all, res = timed_scan(lm, tc, **base, layers="all", batch_size=bsz)
        t_sep = 0.0
        for layer in res:
            t_sep += n / timed_scan(lm, tc, **base, layers=[layer], batch_size=bsz)[0]
        log("all_layers", {"layers": len(res), "batch": bsz, "one_pass_s": round(n / tps_all, 3),
                           "separate_passes_s": round(t_sep, 3), "speedup": round(t_sep / (n / tps_all), 2)})
    if "workers" not in skip and not cuda:
        try:
            import ray
        except ImportError:
            ray = None
        if ray is None:
            log("workers", "skipped: ray is not installed")
        else:
            ray.init(num_cpus=max(2, torch.get_num_threads()), include_dashboard=False, logging_level="ERROR",
                     log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
            res = {"no_ray": round(timed_scan(lm, tc, **base, layers="all", batch_size=16)[0])}
            for w in [int(x) for x in a.workers.split(",")]:
                timed_scan(lm, tc, **base, layers="all", batch_size=16, ray="auto", workers=w)  # actors start, load
                res[f"ray_{w}"] = round(timed_scan(lm, tc, **base, layers="all", batch_size=16, ray="auto",
                                                   workers=w)[0])
            log("workers_all_layers_tok_s", res)
            ray.shutdown()
    if "compile" not in skip:
        b = min(bsz, 64) if cuda else 4
        comp = {"eager": round(bare_forward(lm, b, a.seq_len, None, 5))}
        for mode in (["default", "reduce-overhead"] if cuda else ["default"]):
            try:
                comp[mode] = round(bare_forward(lm, b, a.seq_len, mode, 5))
            except Exception as e:  # a compile failure is a result too
                comp[mode] = f"failed: {type(e).__name__}: {str(e).splitlines()[0][:120]}"
        log("bare_forward_tok_s", {"batch": b, **comp})
    if "scan_compile" not in skip:
        log("scan_compile", scan_compile(lm, tc, base, a.layer, [bsz] if cuda else [4]))
    if a.json:
        print(json.dumps(out))
    return out


def scan_compile(lm, tc, base: dict, layer: int, batches: list[int]) -> dict:
    """The scan with its unhooked blocks torch.compile'd (engine/compiled.py) vs eager, same batches: the first
    compiled scan (which compiles) and the next one, in tokens per second; top-k compared with eager."""
    res = {}
    for site, layers in (("mlp", [layer]), ("resid", "all")):
        for b in batches:
            kw = {**base, "site": site, "layers": layers, "batch_size": b}
            eager, ref = timed_scan(lm, tc, **kw, compile=False)
            t0 = time.perf_counter()
            try:
                timed_scan(lm, tc, **kw, compile=True)
            except Exception as e:  # a compile failure is a result too
                res[f"{site}_{b}"] = f"failed: {type(e).__name__}: {str(e).splitlines()[0][:160]}"
                continue
            first_s = time.perf_counter() - t0
            comp, got = timed_scan(lm, tc, **kw, compile=True)
            same = float(np.mean([(got[k].top_index == ref[k].top_index).mean() for k in ref]))
            dv = max(float(np.abs(got[k].top_values.astype(np.float64) - ref[k].top_values).max()) for k in ref)
            res[f"{site}_{'all' if layers == 'all' else layer}_b{b}"] = {
                "eager_tok_s": round(eager), "compiled_tok_s": round(comp), "speedup": round(comp / eager, 2),
                "first_compiled_scan_s": round(first_s, 1), "top_indices_equal_fraction": round(same, 4),
                "max_abs_top_value_diff": dv}  # compiled kernels fuse ops: values differ in the last bits
            print(f"  scan_compile {site} b={b}: {res}", file=sys.stderr, flush=True)
    return res


if __name__ == "__main__":
    main()
