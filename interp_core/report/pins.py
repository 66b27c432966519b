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
