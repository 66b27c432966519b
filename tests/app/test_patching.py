"""The 'Which components matter?' tab on the embedded Gemma 3 270M, clicked through with AppTest, and the
CLI giving the same numbers as the page."""
import io
import json
from contextlib import redirect_stdout

import numpy as np

from interp_core.cli.main import main as cli_main
from interp_core.patching import DEFAULT_PAIR, PAIRS



def _page(app):
    at = app.open("pages/ablation.py")
    at.session_state["ab_tab"] = "Which components matter?"  # what clicking the tab does
    at.run()
    assert not at.exception
    return at


def _metric(at, starts: str) -> float:
    return float(next(m for m in at.metric if m.label.startswith(starts)).value)


def test_attribution_click_check_and_cli_agree(app):
    at = _page(app)
    pair = PAIRS[DEFAULT_PAIR]
    assert at.text_input(key="pt_clean").value == pair.clean and at.text_input(key="pt_foil").value == pair.foil
    assert at.radio(key="pt_mode").value == "attribution"
    at = app.press(at, "pt_attr_run")  # (the screen may have started by itself: its estimate is a few seconds)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    heads = next(d.value for d in at.dataframe if "head" in d.value.columns and "estimate" in d.value.columns)
    assert len(heads) == 18 * 4
    # pick head 12.2 (what a click on the chart sets): its exact patch runs at once, beside the estimate
    at.selectbox(key="pt_cell_layer").set_value(12)
    at.selectbox(key="pt_cell_col_head").set_value(2)
    at.run()
    assert not at.exception, at.exception
    est = _metric(at, "Estimate · head 12.2")
    exact = _metric(at, "Exact patch")
    page_est = heads.query("layer == 12 and head == 2")["estimate"].iloc[0]
    assert est == float(f"{page_est:+.4f}")
    assert exact < -0.3 and est < -0.3  # head 12.2 carries much of ' Paris' vs ' Rome' (both methods agree)
    assert any("ablation?" in m.value and "ab_heads=2" in m.value for m in at.markdown)

    out = io.StringIO()
    with redirect_stdout(out):
        rc = cli_main(["patch", "--model", "gemma-3-270m", "--device", "cpu", "--clean", pair.clean, "--corrupt",
                       pair.corrupt, "--target", pair.target, "--foil", pair.foil, "--grid", "attribution", "--json"])
    assert rc == 0
    cli = json.loads(out.getvalue())
    cli_heads = np.array(cli["heads"])
    page = heads.pivot(index="layer", columns="head", values="estimate").to_numpy()
    np.testing.assert_allclose(cli_heads, page, rtol=1e-6, atol=1e-9)
    assert cli["provenance"]["clean"] == pair.clean and cli["provenance"]["metric"]["clean"] == 1.0


def test_exact_heads_grid_and_refusal(app):
    at = _page(app)
    at.radio(key="pt_mode").set_value("exact")
    at.run()
    at.radio(key="pt_grid").set_value("heads")
    at.run()
    at = app.press(at, "pt_grid_run")
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    grid = next(d.value for d in at.dataframe if "value" in d.value.columns and "playground" in d.value.columns)
    assert len(grid) == 72 and grid["playground"].str.startswith("ablation?").all()
    best = grid.loc[grid["value"].idxmax()]
    assert best["value"] > 0.2  # one head alone restores a good part of ' Paris'
    # prompts of different lengths: one clear error, no traceback
    at.text_input(key="pt_corrupt").input("The big old Colosseum is in the city of")
    at.run()
    at = app.press(at, "pt_grid_run")
    assert not at.exception
    assert any("align them from the end" in e.value for e in at.error)


def test_grid_and_attribution_come_back_from_a_link_without_a_click(app):
    """A link (a fresh session) shows the exact heads grid and the attribution screen without a press: computed
    by itself within the page's budget, and from the shared results once anyone ran them."""
    query = {"ab_tab": "Which components matter?", "pt_mode": "exact", "pt_grid": "heads"}
    first = app.open("pages/ablation.py", query=query)  # no press: within the budget it runs by itself
    assert not first.exception and not first.error, [e.value for e in first.error]
    assert [c for c in first.get("plotly_chart") if "Exact patching: heads" in c.proto.spec]
    first.radio(key="pt_mode").set_value("attribution").run()
    assert not first.exception and not first.error
    assert any("estimate" in d.value.columns for d in first.dataframe if hasattr(d.value, "columns"))

    visitor = app.open("pages/ablation.py", query=query)  # a fresh browser following the link
    assert not visitor.exception and not visitor.error
    assert [c for c in visitor.get("plotly_chart") if "Exact patching: heads" in c.proto.spec]
    visitor.radio(key="pt_mode").set_value("attribution").run()
    assert any("estimate" in d.value.columns for d in visitor.dataframe if hasattr(d.value, "columns"))
