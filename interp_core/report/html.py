"""Pins -> one self-contained HTML file: plotly.js inlined once, every figure interactive, opens offline.

Safety: the only executable scripts are plotly.js and LOADER (a fixed constant that draws each figure); figures
travel as inert JSON data blocks with `<`, `>` and `&` escaped, and every text a user typed is HTML-escaped.
A Content-Security-Policy pins the two scripts by hash, so the browser runs nothing else even if text slipped by.
"""
from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Sequence
from functools import lru_cache

from .pins import Pin

LOADER = ("document.querySelectorAll('script.lg-figure').forEach(function (s) {\n"
          "  var f = JSON.parse(s.textContent);\n"
          "  Plotly.newPlot(document.getElementById(s.getAttribute('data-target')), f.data || [], f.layout || {},\n"
          "                 {responsive: true, displaylogo: false});\n"
          "});")

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #1f2430; }
h1 { margin-bottom: .2em; } .meta { color: #667; }
section.pin { border-top: 1px solid #dde; padding-top: 1em; margin-top: 2em; }
.figure { width: 100%; min-height: 420px; }
table { border-collapse: collapse; margin: .5em 0; font-size: .92em; }
th, td { text-align: left; padding: .2em .8em .2em 0; vertical-align: top; }
th { color: #556; font-weight: 600; } td { white-space: pre-wrap; word-break: break-word; }
.note { white-space: pre-wrap; } code { word-break: break-all; }
"""


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """plotly.js as shipped with the installed plotly package (no network)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def script_hashes() -> tuple[str, str]:
    """The CSP hashes of the report's two scripts (plotly.js, LOADER)."""
    return _sha256(plotly_js()), _sha256(LOADER)


def inert_json(text: str) -> str:
    """JSON made safe inside a <script type="application/json"> block: no `<`, `>` or `&` left (they can only
    occur inside JSON strings, where \\u escapes mean the same characters)."""
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(rows: Sequence[tuple[str, str]], caption: str) -> str:
    if not rows:
        return ""
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<h3>{_e(caption)}</h3><table>{body}</table>"


def _link(pin: Pin, base_url: str | None) -> str:
    rel = pin.link()
    if base_url and base_url.startswith(("http://", "https://")):
        url = base_url.rstrip("/") + "/" + rel
        return f'<p>Open this view in Looking Glass: <a href="{_e(url)}">{_e(url)}</a></p>'
    return f"<p>View in Looking Glass: <code>{_e(rel)}</code></p>"


def _section(i: int, pin: Pin, base_url: str | None) -> str:
    fig_id = f"lg-fig-{i}"
    note = f'<p class="note">{_e(pin.note)}</p>' if pin.note else ""
    return (f'<section class="pin"><h2>{i + 1}. {_e(pin.title)}</h2>'
            f'<p class="meta">{_e(pin.page)} · pinned {_e(pin.pinned_at)}</p>{note}'
            f'<div class="figure" id="{fig_id}"></div>'
            f'<script type="application/json" class="lg-figure" data-target="{fig_id}">{inert_json(pin.figure)}</script>'
            + _table(pin.numbers, "Key numbers") + _table(pin.inputs, "Inputs")
            + _table(pin.provenance.rows(), "Provenance") + _link(pin, base_url) + "</section>")


def build_report(pins: Sequence[Pin], title: str = "Looking Glass report", *, intro: str = "",
                 base_url: str | None = None) -> str:
    """The whole report as one HTML document (a string). `intro` is plain text; `base_url` (http/https only)
    turns each view's inputs into a link back to the app."""
    csp = (f"default-src 'none'; script-src {' '.join(script_hashes())}; style-src 'unsafe-inline'; "
           "img-src data: blob:; font-src data:")
    intro_html = f'<p class="note">{_e(intro)}</p>' if intro else ""
    sections = "".join(_section(i, p, base_url) for i, p in enumerate(pins))
    empty = "" if pins else "<p>No views were pinned.</p>"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{STYLE}</style>"
            f"<script>{plotly_js()}</script></head><body>"
            f"<h1>{_e(title)}</h1><p class=\"meta\">{len(pins)} view{'s' if len(pins) != 1 else ''} · made with "
            f"Looking Glass · interactive charts, works offline</p>{intro_html}{sections}{empty}"
            f"<script>{LOADER}</script></body></html>\n")
