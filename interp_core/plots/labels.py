"""The one way a model token is shown, in charts and tables alike: whitespace and control characters made
visible (`␣` for a space, `⏎` for a newline, `⇥` for a tab, `<0x0B>` for other control bytes, `∅` for the empty
token), never quoted, so `.` and ` the` read as `.` and `␣the` side by side."""
from __future__ import annotations

import html
from functools import lru_cache

_MARKS = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍"}
_TABLE = str.maketrans({**{chr(c): f"<0x{c:02X}>" for c in (*range(32), 127)}, **_MARKS})


@lru_cache(maxsize=65536)
def visible(tok: str, limit: int | None = None) -> str:
    """Plain text (tables, downloads): every whitespace / control character visible; `limit` cuts with '…'."""
    t = tok.translate(_TABLE)
    if limit is not None and len(t) > limit:
        t = t[: limit - 1] + "…"
    return t or "∅"


@lru_cache(maxsize=65536)
def token_label(tok: str, limit: int | None = None) -> str:
    """For Plotly text, ticks and hovers (a small HTML subset): `visible`, with '<', '>' and '&' as entities."""
    return html.escape(visible(tok, limit), quote=False)
