"""The one place the app draws a chart: st.plotly_chart plus the chart's 📌 Pin button, which adds the view
(page, URL inputs, figure, key numbers, model provenance) to the session's board (pages/board.py)."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

import streamlit as st

from interp_core.report import Pin, Provenance
from interp_core.report.pins import figure_numbers

from .rooms import ROOM_KEYS

BOARD = "_lg_board"
PAGE = "_lg_page"  # the url path of the page this run draws (set by app.py)
MAX_PINS = 60
Numbers = Iterable[tuple[str, Any]] | Callable[[], Iterable[tuple[str, Any]]] | None


def pins() -> list[Pin]:
    return st.session_state.setdefault(BOARD, [])


def provenance() -> Provenance:
    """The loaded model as a report names it (fingerprint once it is computed)."""
    lm = st.session_state.get("lm")
    if lm is None:
        return Provenance(model="(no model loaded)")
    from .cache import weights_fingerprint

    spec = lm.spec
    fp = weights_fingerprint(spec, lm).value
    return Provenance(model=spec.name, revision=spec.revision or "default", weights=fp or "",
                      device=str(lm.info.device), dtype=str(lm.info.dtype))


def with_fingerprint(pin: Pin) -> Pin:
    """A pin made before the weights fingerprint was ready gets it now, if the same model has it."""
    lm = st.session_state.get("lm")
    if pin.provenance.weights or lm is None or lm.spec.name != pin.provenance.model:
        return pin
    from .cache import weights_fingerprint

    fp = weights_fingerprint(lm.spec, lm).value
    return dataclasses.replace(pin, provenance=dataclasses.replace(pin.provenance, weights=fp)) if fp else pin


def add_pin(fig: Any, title: str, numbers: Numbers = None) -> None:
    """Pin a drawn figure with this run's page, URL state and model (a button callback: before the next run)."""
    board = pins()
    if len(board) >= MAX_PINS:
        st.toast(f"The board holds at most {MAX_PINS} views; remove some first.", icon="📌")
        return
    nums = numbers() if callable(numbers) else numbers
    inputs = {k: v for k, v in st.query_params.to_dict().items() if k not in ROOM_KEYS}
    board.append(Pin.make(title, st.session_state.get(PAGE, ""), inputs, fig, provenance(),
                          numbers=list(nums) if nums is not None else figure_numbers(fig)))
    st.toast(f"Pinned “{title}” ({len(board)} on the board).", icon="📌")


def figure_title(fig: Any, default: str) -> str:
    try:
        text = fig.layout.title.text
    except AttributeError:
        text = None
    return str(text) if text else default



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
