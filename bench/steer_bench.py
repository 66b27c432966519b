"""Steering on the playground's default example: the clean + steered comparison with 20 + 20 generated tokens
(one KV-cached batch of two rows) and the 9-α sweep with a 20-token continuation per α, against a baseline in the
same process (one clean forward pass of the prompt, and the 20 + 20 tokens without any hook). Run alone:
`python -m bench.steer_bench [--json]`; bench/run.py runs it as its `steer` child."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from typing import Any


def _t(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t0, out


def bench_steer(lm, repeat: int = 2) -> dict:
    from interp_core.ablation import DirectionSpec, Steer, build_direction
    from interp_core.ablation.generation import generate_rows
    from interp_core.ablation.steer_run import EXAMPLE, parse_alphas, run_steer, steer_sweep

    ex = EXAMPLE
    prompt, alphas = ex.prompt, parse_alphas(ex.alphas)
    s = Steer(ex.site, ex.layer, ex.alpha, ex.unit)
    d = build_direction(lm, DirectionSpec.of("contrast", a=ex.a, b=ex.b), s.hook_site)
    enc = lm.encode(prompt)
    run_steer(lm, prompt, d, s, generate=2)  # warm-up
    best: dict[str, float] = {}

    def keep(name: str, secs: float) -> None:
        best[name] = min(secs, best.get(name, float("inf")))

    for _ in range(repeat):
        keep("forward_s", _t(lm.run, enc.input_ids)[0])
        keep("clean_pair_20_s", _t(generate_rows, lm, enc.input_ids, 20, [{}, {}])[0])
        secs, res = _t(run_steer, lm, prompt, d, s, generate=20)
        keep("steer_20_20_s", secs)
        secs, sw = _t(steer_sweep, lm, prompt, d, s, alphas=alphas, generate=20)
        keep("sweep_9_alpha_gen20_s", secs)
        keep("sweep_9_alpha_nogen_s", _t(steer_sweep, lm, prompt, d, s, alphas=alphas)[0])
    out: dict[str, Any] = {k: round(x, 3) for k, x in best.items()}
    out.update({"steer_over_clean_pair": round(best["steer_20_20_s"] / best["clean_pair_20_s"], 2),
                "steer_over_forward": round(best["steer_20_20_s"] / best["forward_s"], 1),
                "example": {**dataclasses.asdict(ex), "direction": d.label},
                "clean": res.generation_clean.text, "steered": res.generation_steered.text,
                "sweep_points": len(sw.points), "load_average": list(os.getloadavg())})
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="gemma-3-270m")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    from interp_core import load_model, make_spec

    lm = load_model(make_spec(a.model, device="cpu"))
    r = bench_steer(lm, a.repeat)
    print(json.dumps(r, ensure_ascii=False, indent=None if a.json else 1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
