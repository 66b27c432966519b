"""The one way a model token is shown, in charts and tables alike: whitespace and control characters made
visible (`␣` for a space, `⏎` for a newline, `⇥` for a tab, `<0x0B>` for other control bytes, `∅` for the empty
token), never quoted, so `.` and ` the` read as `.` and `␣the` side by side."""
from __future__ import annotations

import html

_MARKS = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍"}


def visible(tok: str, limit: int | None = None) -> str:
    """Plain text (tables, downloads): every whitespace / control character visible; `limit` cuts with '…'."""
    t = "".join(_MARKS.get(c, f"<0x{ord(c):02X}>" if ord(c) < 32 or ord(c) == 127 else c) for c in tok)
    if limit is not None and len(t) > limit:
        t = t[: limit - 1] + "…"
    return t or "∅"


def token_label(tok: str, limit: int | None = None) -> str:
    """For Plotly text, ticks and hovers (a small HTML subset): `visible`, with '<', '>' and '&' as entities."""
    return html.escape(visible(tok, limit), quote=False)
