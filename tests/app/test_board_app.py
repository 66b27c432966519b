"""The 📌 Pin button under a chart adds the view to the session's board with its page, URL inputs, figure, key
numbers and model provenance; the board page lists it, and the report built from it holds the figure."""
from __future__ import annotations

import json

from interp_core.report import build_report
from ui.charts import BOARD


def test_pin_then_board(app):
    at = app.open("pages/logit_lens.py", query={"ll_prompt": "The Eiffel Tower is located in the city of"})
    app.press(at, "ll_lens_run")
    assert not at.exception
    at.button(key="ll_heatmap_pin").click().run()
    assert not at.exception
    board = at.session_state[BOARD]
    assert len(board) == 1
    pin = board[0]
    assert pin.page == "logit_lens"
    assert dict(pin.inputs)["ll_prompt"] == "The Eiffel Tower is located in the city of"
    assert pin.provenance.model == "gemma-3-270m" and pin.numbers
    assert json.loads(pin.figure)["data"][0]["type"] == "heatmap"
    at.switch_page("pages/board.py")
    at.run()
    assert not at.exception
    assert any("1. " in m.value for m in at.markdown)
    doc = build_report(at.session_state[BOARD])
    assert doc.count('class="lg-figure"') == 1 and "gemma-3-270m" in doc
