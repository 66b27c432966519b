"""Information flow page in AppTest on tiny models: it opens on the default prompt with the graph drawn, and
every selection (node, attention edge + head, MLP) carried in the URL opens its view without an exception."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

PAGE = "pages/flow.py"


@pytest.fixture
def tiny_env(tiny_dirs, monkeypatch, tmp_path):
    monkeypatch.setenv("LOOKING_GLASS_ALLOWED_ROOTS", str(tiny_dirs["gpt2"].parent))
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path / "cache"))
    return tiny_dirs


def _open(app, model: str, **query) -> AppTest:
    return app.open(PAGE, query=query, model=model, timeout=300)


def _graph(at) -> dict:
    figs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    graphs = [f for f in figs if "Routes to" in str(f["layout"].get("title", ""))]
    assert graphs, "no flow graph drawn"
    return graphs[0]


def _edges(fig: dict) -> list[list]:
    return next(tr["customdata"] for tr in fig["data"] if tr.get("name") == "edges")


def test_opens_with_a_graph_and_the_url(app, tiny_env):
    at = _open(app, str(tiny_env["llama"]))
    fig = _graph(at)
    assert _edges(fig) and at.text_input(key="fl_prompt").value.startswith("The Eiffel Tower")
    assert at.query_params["fl_thr"] in ("0.04", ["0.04"])
    assert any("Click a node" in c.value for c in at.caption)


def test_selections_from_the_url_open_their_views(app, tiny_env):
    model = str(tiny_env["llama"])
    at = _open(app, model, fl_thr="0.01")
    edges = _edges(_graph(at))
    attn = next(e for e in edges if e[0] == "attn")
    mlp = next(e for e in edges if e[0] == "mlp")
    at = _open(app, model, fl_thr="0.01", fl_sel=f"node:resid:{attn[1]}:{attn[2]}:{attn[2]}")
    assert any(s.value.startswith("Residual entering layer") for s in at.subheader)
    assert len(at.dataframe) >= 3  # top, promotes, suppresses
    at = _open(app, model, fl_thr="0.01", fl_sel=":".join(str(x) for x in attn), fl_head="1")
    assert any(s.value.startswith(f"Attention {attn[1]}") for s in at.subheader)
    assert any("head 1: its attention pattern" in m.value for m in at.markdown)
    assert any(b.label.startswith("✂️ Ablate this head") for b in at.button)
    at = _open(app, model, fl_thr="0.01", fl_sel=":".join(str(x) for x in mlp))
    assert any(b.label.startswith("🧠 neuron") for b in at.button)
    assert any(b.label == "✂️ Ablate this MLP" for b in at.button)


def test_encoder_without_lm_head_still_draws(app, tiny_env):
    at = _open(app, str(tiny_env["bert"]))
    _graph(at)
    assert any("LayerNorm" in c.value for c in at.caption)
