"""Axes that hold labels stay categorical: Plotly guesses an axis type from its data, and labels such as
`#1234`, `1. .` or `12` read as numbers to it (an axis of neuron labels then ran 0–2000). Every figure goes
through `categorical_axes` before it is returned."""
from __future__ import annotations

from collections.abc import Iterable

import plotly.graph_objects as go


def _has_text(values: Iterable | None) -> bool:
    if values is None:
        return False
    try:
        return any(isinstance(v, str) for v in values)
    except TypeError:
        return False


def axis_key(ref: str | None, letter: str) -> str:
    """A trace's axis reference ('x', 'x2', None) as its layout key ('xaxis', 'xaxis2')."""
    ref = ref or letter
    return f"{letter}axis{ref[1:]}"


def text_axes(fig: go.Figure) -> set[str]:
    """Layout keys of the axes that some trace places at string coordinates."""
    keys = set()
    for tr in fig.data:
        for letter in ("x", "y"):
            if _has_text(getattr(tr, letter, None)):
                keys.add(axis_key(getattr(tr, f"{letter}axis", None), letter))
    return keys


def categorical_axes(fig: go.Figure) -> go.Figure:
    """Set type='category' on every axis that holds string coordinates (returns `fig`)."""
    for key in text_axes(fig):
        fig.layout[key].type = "category"
    return fig
