"""Lens figures from hand-made results: shapes, escaping, snap marker, sweep normalisation."""
from __future__ import annotations

import numpy as np
import pytest

from interp_core.lens import LensResult, LensTarget, snap_layer, trajectory
from interp_core.lens.sweep import LensSweep, minmax_per_column
from interp_core.plots.lens import COLOR_MODES, lens_heatmap, show_token, sweep_heatmap, trajectory_figure

S, T, K = 4, 3, 2


def _result(masked=False):
    text = {0: "<script>", 1: " Paris", 2: "a&b", 3: "\n", 4: "x"}
    top_ids = np.zeros((S, T, K), dtype=np.int64)
    top_ids[..., 0] = 0
    top_ids[..., 1] = 4
    top_ids[2:, :, 0] = 1
    rank = np.array([[9, 5, 3], [40, 2, 2], [1, 1, 1], [1, 1, 1]])
    prob = np.linspace(0.1, 0.9, S * T, dtype=np.float32).reshape(S, T)
    return LensResult(
        model="m", method="final-norm", masked_lm=masked, tokens=("<bos>", "<script>", " of"),
        input_ids=np.array([2, 0, 3]), layers=tuple(range(S)), top_ids=top_ids,
        top_probs=np.stack([prob, prob / 2], -1), top_logits=np.ones((S, T, K), np.float32),
        zscore=np.arange(S * T, dtype=np.float32).reshape(S, T),
        target=LensTarget(" Paris", np.array([1, 1, 1]), (" Paris",) * 3, np.zeros((S, T), np.float32), prob,
                          np.ones((S, T), np.float32), rank),
        next_zscore=None, mask_positions=(2,) if masked else (), token_text=text)


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, (list, tuple, np.ndarray)):
        for v in obj:
            yield from _strings(v)


def test_show_token_escapes_and_shows_whitespace():
    assert show_token("<script>") == "&lt;script&gt;"
    assert show_token(" Paris") == "␣Paris"
    assert show_token("a&b") == "a&amp;b"
    assert show_token("\n") == "↵"
    assert show_token("") == "∅"
    assert len(show_token("x" * 100, 10)) == 10


@pytest.mark.parametrize("mode", list(COLOR_MODES))
def test_heatmap_cells_and_hover(mode):
    fig = lens_heatmap(_result(), mode, top_k=2)
    hm = fig.data[0]
    assert np.asarray(hm.z).shape == (S, T)
    assert hm.text[0][1] == "&lt;script&gt;" and hm.text[3][2] == "␣Paris"
    assert not [t for t in _strings(fig.to_plotly_json()) if "<script" in t]  # every token is escaped
    hover = hm.customdata[2][1]
    assert "␣Paris  p=" in hover and "x  p=" in hover and "rank=1" in hover
    assert list(fig.layout.yaxis.ticktext) == ["emb", "1", "2", "3"]


def test_heatmap_rank_colour_is_log_and_top_is_brightest():
    hm = lens_heatmap(_result(), "target_rank").data[0]
    z = np.asarray(hm.z)
    assert z[3, 0] == 0 and z[1, 0] == pytest.approx(-np.log10(40))


def test_trajectory_snap_and_figure():
    res = _result()
    tr = trajectory(res, 0)
    assert tr.snap_layer == 2 and tr.target == " Paris"
    fig = trajectory_figure(tr)
    assert len(fig.data) == 3
    assert any(getattr(s, "x0", None) == 2 for s in fig.layout.shapes)  # the snap line
    assert tr.frame()["snap"].sum() == 1
    assert snap_layer(np.array([1, 2, 1]), [0, 1, 2]) == 2
    assert snap_layer(np.array([1, 1, 3]), [0, 1, 2]) is None


def test_masked_trajectory_reads_a_mask_position():
    res = _result(masked=True)
    assert trajectory(res).position == 2
    with pytest.raises(Exception, match="not a \\[MASK\\]"):
        trajectory(res, 0)


def test_tables_and_json():
    res = _result()
    df = res.frame(1)
    assert len(df) == S * T and df.loc[0, "top1_token"] == "<script>"
    out = res.to_dict()
    assert out["layers"] == [0, 1, 2, 3] and out["target"]["token"] == " Paris"
    assert out["top"][3][2][0] == {"token": " Paris", "prob": pytest.approx(0.9), "logit": 1.0}


def test_minmax_per_column_and_sweep_figure():
    z = np.array([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0]], dtype=np.float32)
    n = minmax_per_column(z)
    np.testing.assert_allclose(n[:, 0], [0, 0.5, 1])
    np.testing.assert_allclose(n[:, 1], [0, 0, 0])
    sw = LensSweep("masked", "m", "full-head", ("<b>", "y"), (1, 2), (0, 1, 2), z, n)
    fig = sweep_heatmap(sw)
    assert list(fig.layout.xaxis.ticktext) == ["1: &lt;b&gt;", "2: y"]
    assert "z=4.00" in fig.data[0].customdata[2][0]
    assert sw.frame().shape == (6, 5) and sw.to_dict()["normalized"][2][0] == 1.0
