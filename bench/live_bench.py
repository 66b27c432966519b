"""Live-workshop timings: warm start, generation, lens retarget, distribution views, page first charts.

    python bench/live_bench.py [--only start,generate,lens,dist,pages] [--json]

Runs on whatever device `--device` names (cpu by default; cuda on a GPU machine), with the embedded Gemma 3 270M
(its converted cache must exist: run `python -m interp_core info --model gemma-3-270m` once). "before" numbers
are today's alternatives measured in the same process: the slow tokenizer build, the no-cache generation path,
a full lens re-run per target, a full distributions re-run per toggle. Each part is short (well under a minute
on a quiet 2-core CPU); pages are timed with Streamlit's AppTest on warm caches (the second open of each page).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
EIFFEL = "The Eiffel Tower is located in the city of"
PAGES = ("pages/neuron_explorer.py", "pages/ablation.py", "pages/logit_lens.py", "pages/distributions.py")


def _t(fn, *a, **k):
    t0 = time.perf_counter()
    out = fn(*a, **k)
    return time.perf_counter() - t0, out


def bench_start(args, lm) -> dict:
    """`info` in a fresh process (warm cache), and the tokenizer load: slow build vs tokenizer.json."""
    from transformers import AutoTokenizer

    from interp_core.engine.embedded import ensure_gemma
    from interp_core.engine.tokenizer import fast_tokenizer

    runs = []
    for _ in range(2):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "interp_core", "info", "--model", "gemma-3-270m", "--device", args.device,
                        "--json"], cwd=ROOT, check=True, capture_output=True)
        runs.append(time.perf_counter() - t0)
    folder = ensure_gemma()
    slow_s, _ = _t(AutoTokenizer.from_pretrained, str(folder))
    fast_s, _ = _t(fast_tokenizer, folder)
    return {"info_cli_s": min(runs), "tokenizer_slow_build_s": slow_s, "tokenizer_fast_path_s": fast_s}


def bench_generate(args, lm) -> dict:
    """Clean + ablated 10 greedy tokens (zero mlp_out 5) inside run_ablation: both rows in one KV-cached batch (the
    product's path), two KV-cached runs, and the no-cache path; the tokens must agree."""
    import interp_core.ablation.run as run
    from interp_core.ablation import Ablation, run_ablation
    from interp_core.ablation.generation import greedy, greedy_pair, greedy_uncached

    def pair_of(one):
        return lambda lm_, ids, n, hooks, progress=None, label="": (one(lm_, ids, n, None), one(lm_, ids, n, hooks))

    ab = Ablation("mlp_out", 5, "zero")
    run_ablation(lm, EIFFEL, ab, generate=2)  # warm-up
    base, _ = _t(run_ablation, lm, EIFFEL, ab, generate=0)
    out, tokens = {}, {}
    for name, fn in (("batched_pair", greedy_pair), ("cached", pair_of(greedy)), ("uncached", pair_of(greedy_uncached))):
        run.greedy_pair = fn
        try:
            total, res = _t(run_ablation, lm, EIFFEL, ab, generate=10)
        finally:
            run.greedy_pair = greedy_pair
        out[f"generation_{name}_s"] = max(0.0, total - base)
        tokens[name] = [list(res.generation_clean), list(res.generation_ablated)]
    out["same_tokens"] = len({json.dumps(t) for t in tokens.values()}) == 1
    return out


def bench_lens(args, lm) -> dict:
    from interp_core.lens import compute_lens, lens_decode, retarget

    decode_s, decoded = _t(lens_decode, lm, EIFFEL, "auto", 10)
    full_s, _ = _t(compute_lens, lm, EIFFEL, "auto", 10, " Paris")
    retarget_s, _ = _t(retarget, lm, decoded, " Paris")
    return {"lens_decode_s": decode_s, "lens_full_rerun_per_target_s": full_s, "lens_retarget_s": retarget_s}


def bench_dist(args, lm) -> dict:
    from interp_core.data.corpus import builtin
    from interp_core.distributions import activation_distributions, corpus_sample, measure

    sample = corpus_sample(lm, builtin("looking-glass").text, 1024)
    rerun_s, _ = _t(activation_distributions, lm, sample, exclude_first=False, bins=60)
    measure_s, kept = _t(measure, lm, sample)
    view_s, _ = _t(kept.view, exclude_first=False, bins=60)
    return {"dist_tokens": sample.n_tokens, "dist_full_rerun_per_toggle_s": rerun_s, "dist_measure_once_s": measure_s,
            "dist_view_s": view_s}


def bench_pages(args, lm) -> dict:
    """Seconds for an AppTest run of each page on warm caches (the second open in this process)."""
    from streamlit.testing.v1 import AppTest

    out = {}
    for page in PAGES:
        times = []
        for _ in range(2):
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
            at.run()
            at.switch_page(page)
            t0 = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t0)
            charts = len(at.get("plotly_chart"))
        out[Path(page).stem] = {"cold_s": times[0], "warm_s": times[1], "charts_on_open": charts}
    return out


PARTS = {"start": bench_start, "generate": bench_generate, "lens": bench_lens, "dist": bench_dist, "pages": bench_pages}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts: {', '.join(PARTS)}")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    parts = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in parts if s not in PARTS]
    if unknown:
        p.error(f"unknown part(s) {unknown}; choose from {list(PARTS)}")
    from interp_core import load_model, make_spec

    load_s, lm = _t(load_model, make_spec("gemma-3-270m", device=args.device))
    result = {"device": args.device, "load_in_process_s": load_s, "loadavg": os.getloadavg()[0]}
    for name in parts:
        result[name] = PARTS[name](args, lm)
        if not args.json:
            print(name, json.dumps(result[name], default=str), flush=True)
    if args.json:
        print(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
