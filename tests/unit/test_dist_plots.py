"""Distribution figures are built from a result alone (no model) and show what the result holds."""
import numpy as np
import pytest

from interp_core.distributions import DistAccumulator
from interp_core.plots.distributions import histogram_figure, matrix_figure, scatter_figure, spread_figure


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    acc = DistAccumulator(4, 6, bins=25, expected_tokens=60, scatter_points=50)
    for b in range(3):
        acts = rng.standard_normal((4, 20, 6)) * np.array([1, 2, 5, 20])[:, None, None]
        acc.add(acts.astype(np.float32), np.full(20, b), np.arange(1, 21))
    return acc.result(model="tiny", site="resid", layers=[0, 1, 2, 3], n_sequences=3, exclude_first=True,
                      sample="synthetic")


def test_histogram_grid_one_panel_per_layer_log_y(result):
    fig = histogram_figure(result, "grid")
    assert len(fig.data) == 4 and all(t.type == "bar" for t in fig.data)
    assert fig.layout.yaxis.type == "log"
    got = [np.nan_to_num(np.asarray(t.y, dtype=float)).sum() for t in fig.data]
    assert got == [float(c) for c in result.counts.sum(axis=1)]
    assert fig.layout.annotations[0].text == "embeddings"
    assert "first token excluded" in fig.layout.title.text


def test_histogram_overlay_and_layer_subset(result):
    fig = histogram_figure(result, "overlay", layers=[1, 3])
    assert [t.name for t in fig.data] == ["layer 1", "layer 3"] and fig.layout.yaxis.type == "log"
    np.testing.assert_allclose(fig.data[0].x, (result.edges[:-1] + result.edges[1:]) / 2)
    with pytest.raises(ValueError):
        histogram_figure(result, "stacked")


def test_scatter_axes(result):
    fig = scatter_figure(result, "position")
    assert len(fig.data) == 4
    part = result.scatter[result.scatter["layer"] == 2]
    np.testing.assert_array_equal(np.asarray(fig.data[2].x), part["position"].to_numpy())
    np.testing.assert_allclose(np.asarray(fig.data[2].y), part["value"].to_numpy())
    fig = scatter_figure(result, "dim")
    np.testing.assert_array_equal(np.asarray(fig.data[2].x), part["dim"].to_numpy())
    with pytest.raises(ValueError):
        scatter_figure(result, "token")


def test_matrix_heatmaps_are_annotated(result):
    r2 = matrix_figure(result, "r2")
    hm = r2.data[0]
    assert hm.type == "heatmap" and hm.texttemplate and list(hm.x) == ["emb", "1", "2", "3"]
    np.testing.assert_allclose(np.asarray(hm.z), result.r2)
    assert (hm.zmin, hm.zmax) == (0, 1)
    cov = matrix_figure(result, "cov")
    np.testing.assert_allclose(np.asarray(cov.data[0].z), result.cov)
    with pytest.raises(ValueError):
        matrix_figure(result, "corr")


def test_spread_figure(result):
    fig = spread_figure(result)
    np.testing.assert_allclose(np.asarray(fig.data[0].y, dtype=float), result.stats["std"].to_numpy())
    assert fig.layout.yaxis.type == "log"


def test_histogram_own_bins_per_layer(result):
    fig = histogram_figure(result, "grid", shared=False)
    assert len(fig.data) == 4 and "own bins" in fig.layout.title.text
    for t, e, c in zip(fig.data, result.own_edges, result.own_counts):
        np.testing.assert_allclose(np.asarray(t.x), (e[:-1] + e[1:]) / 2)
        assert np.nan_to_num(np.asarray(t.y, dtype=float)).sum() == c.sum()
    # layer 3 has 20x the spread of layer 0: on its own bins layer 0 is not squeezed into a few bins
    assert np.count_nonzero(result.own_counts[0]) > np.count_nonzero(result.counts[0])
