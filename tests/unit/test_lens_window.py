"""A long prompt's lens heatmap is drawn a window of positions at a time (last 64 by default,
at most MAX_WINDOW), never as 1,000 crammed columns; x values stay absolute positions."""
from __future__ import annotations

import numpy as np

from interp_core.lens import LensResult, LensTarget
from interp_core.lens.sweep import LensSweep, minmax_per_column
from interp_core.plots.lens import DEFAULT_WINDOW, MAX_WINDOW, lens_heatmap, position_window, sweep_heatmap

S, K = 3, 2


def long_result(T: int) -> LensResult:
    top_ids = (np.arange(S * T * K) % 5).reshape(S, T, K).astype(np.int64)
    prob = np.full((S, T), 0.5, np.float32)
    return LensResult(
        model="m", method="final-norm", masked_lm=False, tokens=tuple(f"t{i}" for i in range(T)),
        input_ids=np.arange(T), layers=tuple(range(S)), top_ids=top_ids,
        top_probs=np.stack([prob, prob / 2], -1), top_logits=np.ones((S, T, K), np.float32),
        zscore=np.tile(np.arange(T, dtype=np.float32), (S, 1)),
        target=LensTarget(None, np.zeros(T, np.int64), ("x",) * T, np.zeros((S, T), np.float32), prob,
                          np.zeros((S, T), np.float32), np.ones((S, T), np.int64)),
        next_zscore=None, mask_positions=(), token_text={i: f"w{i}" for i in range(5)})


def test_position_window_defaults_clips_and_caps():
    assert position_window(10) == (0, 10)
    assert position_window(1001) == (1001 - DEFAULT_WINDOW, 1001)
    assert position_window(1001, (0, 1001)) == (0, MAX_WINDOW)
    assert position_window(1001, (990, 5000)) == (990, 1001)
    assert position_window(1001, (300, 200)) == (200, 300)
    assert position_window(5, (7, 9)) == (4, 5)


def test_long_prompt_heatmap_shows_the_last_64_positions():
    fig = lens_heatmap(long_result(1001), "zscore")
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == (S, DEFAULT_WINDOW)
    assert list(heat.x) == list(range(1001 - DEFAULT_WINDOW, 1001))
    assert fig.layout.xaxis.ticktext[0].startswith(f"{1001 - DEFAULT_WINDOW}: t{1001 - DEFAULT_WINDOW}")
    assert float(np.asarray(heat.z)[0, 0]) == 1001 - DEFAULT_WINDOW  # z sliced with the window
    assert "positions 937–1000 of 1001" in fig.layout.title.text


def test_window_picks_positions_and_never_exceeds_the_cap():
    fig = lens_heatmap(long_result(1001), "probability", window=(100, 140))
    assert list(fig.data[0].x) == list(range(100, 140)) and "pos 100 " in fig.data[0].customdata[0][0]
    wide = lens_heatmap(long_result(1001), "target_rank", window=(0, 1001))
    assert np.asarray(wide.data[0].z).shape[1] == MAX_WINDOW


def test_short_prompt_is_drawn_whole():
    fig = lens_heatmap(long_result(12), "probability")
    assert list(fig.data[0].x) == list(range(12)) and "of 12" not in fig.layout.title.text


def test_sweep_heatmap_windowed():
    n = 500
    z = np.random.default_rng(0).normal(size=(S, n)).astype(np.float32)
    sw = LensSweep("next-token", "m", "final-norm", tuple(f"t{i}" for i in range(n)), tuple(range(n)),
                   tuple(range(S)), z, minmax_per_column(z))
    assert np.asarray(sweep_heatmap(sw).data[0].z).shape == (S, DEFAULT_WINDOW)
    fig = sweep_heatmap(sw, (10, 20))
    assert fig.layout.xaxis.ticktext[0].startswith("11: t10")
