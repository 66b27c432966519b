"""The one place the app draws a chart: st.plotly_chart plus the chart's 📌 Pin button (ui.board)."""
from __future__ import annotations

from typing import Any

import streamlit as st

from .board import Numbers, add_pin, figure_title


def chart(fig: Any, *, key: str, where: Any = None, title: str | None = None, numbers: Numbers = None,
          pin: bool = True, **kwargs: Any) -> Any:
    """Draw `fig` (in `where`, a column or container, else the main area) with a Pin button under it.

    title / numbers: what the pin calls the view and its key numbers (pairs, or a callable that makes them when
    pinned); by default the figure's title and its largest values. Returns st.plotly_chart's value (selections).
    """
    target = where if where is not None else st
    event = target.plotly_chart(fig, key=key, **kwargs)
    if pin:
        target.button("📌 Pin", key=f"{key}_pin", on_click=add_pin,
                      args=(fig, title or figure_title(fig, key), numbers),
                      help="Add this chart, its inputs, key numbers and the model's fingerprint to your report board.")
    return event
