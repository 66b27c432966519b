"""The take-home report: one self-contained HTML file whose only scripts are plotly.js and the fixed loader,
with every figure present as inert data and every text a user typed escaped."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

import plotly.graph_objects as go

from interp_core.report import Pin, Provenance, build_report
from interp_core.report.html import LOADER, plotly_js

HOSTILE = '</script><script>alert("x")</script><img src=x onerror=alert(1)> & "quotes" \'single\''


class _Scripts(HTMLParser):
    """Every <script> with its attributes and text, and every tag/attribute the parser saw."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict, str]] = []
        self.tags: list[tuple[str, dict]] = []
        self._open: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._open, self._text = dict(attrs), []

    def handle_data(self, data):
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._open is not None:
            self.scripts.append((self._open, "".join(self._text)))
            self._open = None


def _pins() -> list[Pin]:
    prov = Provenance(model="gemma-3-270m", revision="main", weights="ab" * 32, device="cpu", dtype="float32")
    heat = go.Figure(go.Heatmap(z=[[1, 2], [3, 4]], x=[HOSTILE, "b"], y=["L0", "L1"]),
                     layout={"title": {"text": HOSTILE}})
    bars = go.Figure(go.Bar(x=["a", "b", "c"], y=[0.5, 0.25, 0.125]))
    return [Pin.make(HOSTILE, "logit_lens", {"ll_prompt": HOSTILE, "ll_topk": 5}, heat, prov,
                     numbers={"p(' Paris')": 0.734, HOSTILE: HOSTILE}, note=HOSTILE),
            Pin.make("Clean vs ablated", "ablation", {"ab_prompt": "The Eiffel Tower"}, bars, prov)]


def _parse(doc: str) -> _Scripts:
    p = _Scripts()
    p.feed(doc)
    p.close()
    return p


def test_only_plotly_and_the_loader_execute():
    doc = build_report(_pins(), title=HOSTILE, intro=HOSTILE)
    p = _parse(doc)
    executable = [text for attrs, text in p.scripts if attrs.get("type") != "application/json"]
    assert executable == [plotly_js(), LOADER]
    assert len(p.scripts) == 4  # plotly.js, two figure data blocks, the loader
    assert doc.count("<script") == 4 and doc.lower().count("<script") == 4
    assert "alert" not in LOADER
    # no element carries an event handler or a javascript: URL
    for tag, attrs in p.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert not any(str(v).strip().lower().startswith("javascript:") for v in attrs.values())
    assert not [t for t, _ in p.tags if t in ("img", "iframe", "object", "embed")]


def test_csp_pins_exactly_the_two_scripts():
    doc = build_report(_pins())
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', doc).group(1)
    hashes = set(re.findall(r"'sha256-([^']+)'", csp))

    def h(s: str) -> str:
        return base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
    assert hashes == {h(plotly_js()), h(LOADER)}
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]


def test_hostile_text_is_escaped_everywhere():
    doc = build_report(_pins(), title=HOSTILE, intro=HOSTILE)
    body = doc.split(plotly_js(), 1)[1]  # plotly.js itself is code, not user text
    assert "<img" not in body and "onerror=alert(1)>" not in body
    assert body.count("</script>") == 4  # plotly.js's own end tag, 2 data blocks, the loader
    assert "&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)" in body  # title, note, inputs, numbers as text
    for _, text in _parse(doc).scripts[1:-1]:
        assert "<" not in text and ">" not in text  # data blocks cannot close their element


def test_figures_are_present_and_round_trip():
    pins = _pins()
    doc = build_report(pins)
    blocks = [(a, t) for a, t in _parse(doc).scripts if a.get("type") == "application/json"]
    assert len(blocks) == len(pins)
    for (attrs, text), pin in zip(blocks, pins):
        assert f'id="{attrs["data-target"]}"' in doc  # each block names an existing div
        assert json.loads(text) == json.loads(pin.figure)  # the \\u escapes decode to the same figure
    heat = json.loads(blocks[0][1])
    assert heat["data"][0]["type"] == "heatmap" and heat["data"][0]["x"][0] == HOSTILE
    assert json.loads(blocks[1][1])["data"][0]["type"] == "bar"


def test_inputs_numbers_and_provenance_are_shown():
    doc = build_report(_pins(), base_url="http://127.0.0.1:8501")
    assert "gemma-3-270m" in doc and "ab" * 32 in doc and "0.734" in doc
    assert 'href="http://127.0.0.1:8501/ablation?ab_prompt=The+Eiffel+Tower"' in doc
    # no link for a base that is not http(s)
    assert "javascript" not in build_report(_pins(), base_url="javascript:alert(1)").split(plotly_js(), 1)[1]


def test_an_empty_board_is_a_valid_report():
    doc = build_report([])
    assert "No views were pinned." in doc
    assert [t for a, t in _parse(doc).scripts] == [plotly_js(), LOADER]
