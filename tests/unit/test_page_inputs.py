"""Pure helpers behind the live pages: scale / ablation text parsing (shared by CLI and page), the clickable
heatmap overlay."""
from __future__ import annotations

import plotly.graph_objects as go
import pytest

from interp_core import UserError
from interp_core.ablation import Ablation, ablation_from_text, parse_scales
from interp_core.plots.clickable import clicked_cell, with_click_cells


def test_parse_scales_accepts_lists_and_names_bad_input():
    assert parse_scales("0, 0.5,1,2") == (0.0, 0.5, 1.0, 2.0)
    with pytest.raises(UserError, match="comma-separated numbers"):
        parse_scales("0,half")
    with pytest.raises(UserError, match="No scale values"):
        parse_scales(" , ")


def test_ablation_from_text_matches_the_dataclass():
    ab = ablation_from_text("head", 3, "scale", heads="0, 2", scale=0.5, positions="-1,2")
    assert ab == Ablation(site="head", layer=3, method="scale", heads=(0, 2), scale=0.5, positions=(-1, 2))
    assert ablation_from_text("embed", 7).layer is None
    assert ablation_from_text("head", 1, heads="").heads == ()  # every head
    assert ablation_from_text("mlp_out", 1, heads="5").heads == ()  # heads only for the head site
    with pytest.raises(UserError, match="No neuron indices"):
        ablation_from_text("neuron", 1, indices="")
    with pytest.raises(UserError, match="not an integer"):
        ablation_from_text("neuron", 1, indices="3,x")


def test_cli_and_page_share_the_parser():
    import inspect

    from interp_core.cli import ablate_cmd
    from ui.jobs import ablation as ablation_view

    assert "parse_scales" in inspect.getsource(ablate_cmd) and "ablation_from_text" in inspect.getsource(ablate_cmd)
    assert "parse_scales" in inspect.getsource(ablation_view)
    assert "float(x) for x" not in inspect.getsource(ablation_view)


def _heat():
    return go.Figure(go.Heatmap(z=[[1, 2, 3], [4, 5, 6]], x=[0, 1, 2], y=[0, 1],
                                customdata=[["a", "b", "c"], ["d", "e", "f"]], hovertemplate="%{customdata}"))


def test_click_overlay_covers_every_cell_with_its_hover_text():
    fig = with_click_cells(_heat(), selected=(1, 2))
    overlay = fig.data[1]
    assert overlay.type == "scatter" and overlay.marker.symbol == "square"
    assert list(overlay.x) == [0, 1, 2, 0, 1, 2] and list(overlay.y) == [0, 0, 0, 1, 1, 1]
    assert list(overlay.hovertext) == ["a", "b", "c", "d", "e", "f"]
    assert fig.data[0].hoverinfo == "skip"  # the overlay answers hovers and clicks
    assert fig.data[2].x == (2,) and fig.data[2].y == (1,)  # the selected cell is outlined
    assert fig.layout.hoverdistance == -1


def test_click_markers_never_overlap_their_neighbours():
    # 18 layers x 4 heads in a 552 px figure: ~20 px rows. Markers wider than a row overlapped, and Plotly gave a
    # click on layer 5 to layer 6 (the last marker drawn under the cursor).
    fig = go.Figure(go.Heatmap(z=[[0.0] * 4 for _ in range(18)]))
    fig.update_layout(height=552, margin={"t": 50, "b": 40})
    with_click_cells(fig, selected=(5, 2))
    row_px = (552 - 50 - 40) / 18
    assert fig.data[1].marker.size < row_px
    assert fig.data[2].marker.size >= fig.data[1].marker.size  # the outline is drawn at the cell's size


def test_clicked_cell_maps_a_selection_back_to_row_and_column():
    event = {"selection": {"points": [{"curve_number": 1, "point_index": 4}]}}
    assert clicked_cell(event, 3, curve=1) == (1, 1)
    assert clicked_cell({"selection": {"points": [{"curve_number": 0, "point_index": 4}]}}, 3, curve=1) is None
    assert clicked_cell({}, 3) is None and clicked_cell(None, 3) is None

