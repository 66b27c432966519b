"""Run-time estimates: FLOP counts, measured rates kept on disk per model/device/dtype/kind, presets."""
import json
from types import SimpleNamespace

import pytest

from interp_core import estimates as E
from interp_core.neurons.presets import SEED_PRESETS, default_preset, preset_estimates

INFO = SimpleNamespace(n_layers=18, d_model=640, d_mlp=2048, vocab_size=262144)


def _lm(name="gemma-3-270m", device="cpu"):
    spec = SimpleNamespace(name=name, revision=None, device=device, dtype="float32")
    return SimpleNamespace(spec=spec, info=INFO)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path))
    return tmp_path


def test_flops_count_depth_and_decodes():
    full = E.forward_flops(INFO, 100)
    assert E.forward_flops(INFO, 100, layers=9) == pytest.approx(full / 2)
    assert E.seed_flops(INFO, 10, 4, 25, block=8) == pytest.approx(E.forward_flops(INFO, 1000, layers=9))
    assert E.lens_flops(INFO, 10, 19) > E.forward_flops(INFO, 10)  # the decode of 19 × 10 rows dominates


def test_measured_rates_persist_per_model_device_and_kind(cache):
    lm = _lm()
    assert E.rate(lm, "seed") is None
    E.observe(lm, "seed", 100e9, 2.0)  # 50 GFLOP/s
    assert E.rate(lm, "seed") == pytest.approx(50e9)
    assert E.estimate(lm, "seed", 500e9).seconds == pytest.approx(10.0)
    assert E.estimate(lm, "seed", 500e9).source == "measured"
    E.observe(lm, "seed", 100e9, 1.0)  # moving average with the new 100 GFLOP/s
    assert E.rate(lm, "seed") == pytest.approx(75e9)
    assert E.rate(_lm(device="cuda"), "seed") is None and E.rate(lm, "scan") is None
    assert any("gemma-3-270m" in k for k in json.loads((cache / "estimates.json").read_text()))
    E.observe(lm, "scan", 1e9, 0.001)  # too short to say anything
    assert E.rate(lm, "scan") is None


def test_fallback_before_any_measurement_uses_the_calibration(cache):
    lm = _lm()
    E.observe(lm, "calibration", 40e9, 1.0)
    est = E.estimate(lm, "lens", 80e9)
    assert est.source == "calibrated" and est.seconds == pytest.approx(2.0) and "calibration" in est.text
    assert E.estimate(_lm("other"), "lens", 8e9, calibrate_if_needed=False).source == "prior"


def test_seed_presets_include_the_paper_protocol_and_default_fits_ten_seconds():
    lm = _lm()
    paper = SEED_PRESETS["paper"]
    assert (paper.samples, paper.batch_size, paper.seq_len) == (1000, 32, 256)
    E.observe(lm, "seed", E.seed_flops(INFO, 875, 1, 1, 17), 1.0)  # 875 full-depth tokens/s (the CPU)
    est = preset_estimates(lm, 17)
    assert est["paper"].seconds == pytest.approx(8_192_000 / 875) and est["paper"].text.startswith("about 2.6 h")
    assert est["quick"].seconds <= 10
    assert default_preset(lm, 17).name == "quick"
    E.observe(lm, "seed", 1e15, 1.0)
    E.observe(lm, "seed", 1e15, 1.0)
    assert default_preset(lm, 17).name in ("standard", "paper")
