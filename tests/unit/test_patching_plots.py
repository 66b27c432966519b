"""Patching figures: square-marker grids that carry each cell's identity, and the estimate-vs-exact scatter."""
import numpy as np
import pandas as pd

from interp_core.plots.patching import cell_figure, estimate_exact_figure


def test_cell_figure_is_a_clickable_scatter_with_cell_ids():
    vals = np.arange(6, dtype=float).reshape(2, 3) - 2
    fig = cell_figure(vals, ["emb", "1"], ["0: a", "1: <b>", "2: c"], rows=[0, 1], cols=[4, 5, 6], title="t",
                      value_name="v", x_title="position")
    tr = fig.data[0]
    assert tr.type == "scatter" and tr.marker.symbol == "square"
    cd = np.array(tr.customdata)
    assert cd.shape == (6, 3)
    assert cd[4].tolist() == [1, 5, vals[1, 1]]  # row id, column id, value
    assert list(tr.x) == [0, 1, 2, 0, 1, 2] and list(tr.y) == [0, 0, 0, 1, 1, 1]
    assert tr.marker.cmin == -3 and tr.marker.cmax == 3  # symmetric around 0
    assert "&lt;b&gt;" in fig.layout.xaxis.ticktext[1]  # token text is escaped


def test_estimate_exact_scatter_has_identity_line():
    f = pd.DataFrame({"label": ["head 0.1", "head 2.3"], "estimate": [-0.5, 0.1], "exact": [-0.4, 0.0]})
    fig = estimate_exact_figure(f)
    line, pts = fig.data
    assert list(line.x) == list(line.y)
    assert list(pts.x) == [-0.5, 0.1] and list(pts.y) == [-0.4, 0.0]
