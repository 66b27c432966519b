"""Estimates on a real (tiny) model: the calibration forward and the throughput a finished run records."""
import pytest

from interp_core import estimates as E
from interp_core.ablation import Ablation, run_ablation


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path))
    return tmp_path


def test_calibration_then_measured_runs(tiny_models, cache):
    lm = tiny_models["gpt2"]
    assert E.rate(lm, "calibration") is None
    first = E.estimate(lm, "generate", E.ablate_flops(lm.info, 10, 10))
    assert first.source == "calibrated" and first.seconds > 0 and E.rate(lm, "calibration") > 0
    assert (cache / "estimates.json").exists() and lm.num_hooks() == 0
    with E.timed(lm, "sweep", 1e9):
        import time
        time.sleep(0.06)
    assert E.rate(lm, "sweep") == pytest.approx(1e9 / 0.06, rel=0.5)
    run_ablation(lm, "The Eiffel Tower is located in the city of", Ablation("mlp_out", 1, "zero"), generate=30)
    if E.rate(lm, "generate") is not None:  # recorded when the run took longer than MIN_SECONDS
        assert E.estimate(lm, "generate", 1e6).source == "measured"
