"""One pinned view: what was asked (page, inputs), what was seen (figure, key numbers) and from which model."""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode


@dataclass(frozen=True)
class Provenance:
    """The exact model a view came from: its name, revision and a fingerprint of its weights."""

    model: str
    revision: str = "default"
    weights: str = ""  # a SHA-256 over every parameter (engine.integrity.weights_checksum), maybe shortened
    device: str = ""
    dtype: str = ""

    def rows(self) -> list[tuple[str, str]]:
        rows = [("model", self.model), ("revision", self.revision or "default"),
                ("weights fingerprint", self.weights or "not computed")]
        return rows + [(k, v) for k, v in (("device", self.device), ("dtype", self.dtype)) if v]


@dataclass(frozen=True)
class Pin:
    """A view kept for the report. `figure` is a Plotly figure's JSON (fig.to_json()), so a pin holds no live
    objects and survives the session that made it; `inputs` are the page's URL state (strings)."""

    title: str
    page: str  # the page's url path ("logit_lens")
    inputs: tuple[tuple[str, str], ...]
    figure: str
    provenance: Provenance
    numbers: tuple[tuple[str, str], ...] = ()
    note: str = ""  # free text (a lesson step's prose, an expectation); shown as plain text
    pinned_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))

    @classmethod
    def make(cls, title: str, page: str, inputs: Mapping[str, Any], figure: Any, provenance: Provenance, *,
             numbers: Mapping[str, Any] | Iterable[tuple[str, Any]] = (), note: str = "") -> Pin:
        """A pin from live objects: a Plotly figure (or its JSON), any inputs and numbers (shown as text)."""
        fig_json = figure if isinstance(figure, str) else figure.to_json()
        pairs = numbers.items() if isinstance(numbers, Mapping) else numbers
        return cls(title=str(title), page=str(page),
                   inputs=tuple((str(k), str(v)) for k, v in inputs.items() if v is not None and v != ""),
                   figure=fig_json, provenance=provenance,
                   numbers=tuple((str(k), _fmt(v)) for k, v in pairs), note=str(note))

    def link(self) -> str:
        """The view's path and query, relative to the app's address ("logit_lens?ll_prompt=…")."""
        return self.page + ("?" + urlencode(self.inputs) if self.inputs else "")

    def figure_dict(self) -> dict:
        return json.loads(self.figure)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def figure_numbers(fig: Any, limit: int = 4) -> list[tuple[str, str]]:
    """Key numbers read off a figure when its page names none: each trace's largest value and where it is
    (a heatmap's cell, a bar's or line's x). Traces without numbers are skipped."""
    import numpy as np

    out: list[tuple[str, str]] = []
    for i, tr in enumerate(getattr(fig, "data", ())[:limit]):
        name = getattr(tr, "name", None) or f"{tr.type} {i + 1}"
        try:
            if tr.type == "heatmap" and tr.z is not None:
                z = np.asarray(tr.z, dtype=float)
                if z.ndim != 2 or not np.isfinite(z).any():
                    continue
                r, c = np.unravel_index(np.nanargmax(np.where(np.isfinite(z), z, np.nan)), z.shape)
                x = tr.x[c] if tr.x is not None and c < len(tr.x) else c
                y = tr.y[r] if tr.y is not None and r < len(tr.y) else r
                out.append((f"{name}: largest value", f"{_fmt(float(z[r, c]))} at ({x}, {y})"))
            elif tr.type in ("bar", "scatter", "scattergl") and tr.y is not None and len(tr.y):
                y = np.asarray(tr.y, dtype=float)
                if not np.isfinite(y).any():
                    continue
                j = int(np.nanargmax(np.where(np.isfinite(y), y, np.nan)))
                x = tr.x[j] if tr.x is not None and j < len(tr.x) else j
                out.append((f"{name}: largest value", f"{_fmt(float(y[j]))} at {x}"))
            elif tr.type == "histogram" and tr.x is not None:
                out.append((f"{name}: values", str(len(tr.x))))
        except (TypeError, ValueError):
            continue
    return out
