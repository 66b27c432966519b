"""Run-time estimates: FLOP counts, and the one rate store (median of the latest runs per model identity and kind,
kept in the cache so a restarted process starts from it)."""
import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from interp_core import estimates as E

INFO = SimpleNamespace(n_layers=18, d_model=640, d_mlp=2048, vocab_size=262144)
MODEL = "ModelSpec(name='gemma-3-270m', device='cpu', dtype='float32')"
REAL_CPU_BUSY = E.cpu_busy


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path))
    monkeypatch.setattr(E, "cpu_busy", lambda: 1.0)  # an idle machine, whatever the test machine's load
    return tmp_path


def test_flops_count_depth_and_decodes():
    full = E.forward_flops(INFO, 100)
    assert E.forward_flops(INFO, 100, layers=9) == pytest.approx(full / 2)
    assert E.seed_flops(INFO, 10, 4, 25, block=8) == pytest.approx(E.forward_flops(INFO, 1000, layers=9))
    assert E.scan_flops(INFO, 1000, block=8) == pytest.approx(E.forward_flops(INFO, 1000, layers=9))
    assert E.lens_flops(INFO, 10, 19) > E.forward_flops(INFO, 10)  # the decode of 19 × 10 rows dominates
    # clean + ablated, each greedy step re-running the sequence: 2 × (5 + 6 + 7) tokens, 2 × 3 decodes
    assert E.ablate_flops(INFO, 5, 2) == pytest.approx(E.forward_flops(INFO, 36, logit_rows=6))
    assert E.ablate_flops(INFO, 5, 0, self_repair=True, patch=True) == pytest.approx(
        E.forward_flops(INFO, 10 + 10 + 5, logit_rows=2))


def test_the_median_of_the_latest_runs_per_model_and_kind(cache):
    assert E.rate(MODEL, "seed") is None
    assert E.estimate_s(MODEL, "seed", 20e9) == pytest.approx(1.0)  # the prior for large batches
    assert E.estimate_s(MODEL, "lens", 10e9) == pytest.approx(1.0)
    E.record(MODEL, "lens", 1e9, 0.5)
    assert E.estimate_s(MODEL, "lens", 4e9) == pytest.approx(2.0)
    E.record(MODEL, "lens", 1e9, 0.5)
    E.record(MODEL, "lens", 1e9, 20.0)  # one run slowed by a busy machine barely moves the estimate
    assert E.estimate_s(MODEL, "lens", 4e9) == pytest.approx(2.0)
    for _ in range(E.KEEP_RATES):
        E.record(MODEL, "lens", 1e9, 1.0)
    assert E.rate(MODEL, "lens") == pytest.approx(1e9)  # only the latest KEEP_RATES count
    assert E.rate(MODEL.replace("cpu", "cuda"), "lens") is None and E.rate(MODEL, "dist") is None
    E.record(MODEL, "scan", 1e9, 0.001)  # too short to say anything
    assert E.rate(MODEL, "scan") is None
    with pytest.raises(ValueError, match="unknown kind"):
        E.record(MODEL, "ablation", 1e9, 1.0)
    saved = json.loads((cache / "estimates.json").read_text())
    assert saved[f"{MODEL}|lens"]["rates"] == [1e9] * E.KEEP_RATES


def test_the_seed_method_borrows_the_scan_s_measured_rate_until_it_has_its_own(cache):
    assert E.estimate_s(MODEL, "seed", 40e9) == pytest.approx(2.0)  # the prior (20 GFLOP/s)
    E.record(MODEL, "scan", 200e9, 1.0)  # a fresh server's warm-up scans a layer
    assert E.estimate_s(MODEL, "seed", 40e9) == pytest.approx(0.2)
    E.record(MODEL, "seed", 100e9, 1.0)  # then its own runs count, not the scan's
    assert E.estimate_s(MODEL, "seed", 40e9) == pytest.approx(0.4)
    assert E.estimate_s(MODEL, "lens", 40e9) == pytest.approx(4.0)  # other kinds do not borrow


def test_a_restarted_process_uses_the_persisted_rate(cache):
    """The rate one process measured is what the next process estimates with (the README's promise)."""
    def run(code: str) -> str:
        out = subprocess.run([sys.executable, "-c", f"from interp_core import estimates as E\nE.cpu_busy = lambda: 1.0\n{code}"],
                             capture_output=True, text=True, timeout=120, check=True)
        return out.stdout.strip()

    run(f"E.record({MODEL!r}, 'ablate', 50e9, 1.0)\nE.record({MODEL!r}, 'ablate', 30e9, 1.0)\n"
        f"E.record({MODEL!r}, 'ablate', 40e9, 1.0)")
    assert float(run(f"print(E.estimate_s({MODEL!r}, 'ablate', 80e9))")) == pytest.approx(2.0)  # 80 / median 40
    assert float(run(f"print(E.estimate_s({MODEL!r}, 'sweep', 80e9))")) == pytest.approx(8.0)  # the prior
    assert float(run(f"print(E.estimate_s({MODEL!r}, 'ablate', 80e9))")) == pytest.approx(2.0)


def test_fmt_seconds():
    assert E.fmt_seconds(0.3) == "under a second" and E.fmt_seconds(12) == "about 12 s"
    assert E.fmt_seconds(600) == "about 10 min" and E.fmt_seconds(9360) == "about 2.6 h"


def test_a_run_on_a_busy_cpu_is_recorded_at_the_idle_machine_s_rate(monkeypatch):
    """Timed while 4 threads shared each core, a run took 4x its idle time: the estimate stays the idle one."""
    monkeypatch.setattr(E.os, "getloadavg", lambda: (8.0, 8.0, 8.0))
    monkeypatch.setattr(E.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(E, "cpu_busy", REAL_CPU_BUSY)
    assert E.cpu_busy() == pytest.approx(4.0)
    E.record(MODEL, "ablate", 40e9, 4.0)  # 10 GFLOP/s measured while busy
    assert E.estimate_s(MODEL, "ablate", 40e9) == pytest.approx(1.0)  # 40 GFLOP/s on the idle machine
    monkeypatch.setattr(E.os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    assert E.cpu_busy() == 1.0  # never faster than measured
