"""Component views' results and figures without a model: masks, hover token view escaping, DLA tables and
waterfall, head maps and clicks, writes and prompt figures."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from interp_core import UserError
from interp_core.components import AttentionPatterns, DirectLogitAttribution, NeuronWrites, PromptActivations
from interp_core.plots.clickable import clicked_square
from interp_core.plots.components import (attention_tokens_html, dla_heads_figure, dla_waterfall_figure,
                                          head_map_figure, head_scores, pattern_figure, pattern_grid_figure,
                                          prompt_heatmap_html, prompt_tokens_figure, top_neurons_figure, writes_figure)

TOKS = ("<bos>", "<script>alert(1)</script>", " the", " cat", "&amp;", " sat")


def _causal(t: int, window: int | None = None) -> np.ndarray:
    q, k = np.arange(t)[:, None], np.arange(t)[None, :]
    ok = k <= q
    if window:
        ok &= q - k < window
    p = ok.astype(np.float32)
    return p / p.sum(-1, keepdims=True)


def _patterns(kinds=("global", "sliding"), windows=(None, 2), n_kv=1) -> AttentionPatterns:
    t = len(TOKS)
    pats = np.stack([np.stack([_causal(t, w)] * 4) if k != "bidirectional" else np.full((4, t, t), 1 / t, np.float32)
                     for k, w in zip(kinds, windows)])
    return AttentionPatterns("m", TOKS, tuple(range(len(kinds))), pats, kinds, windows, n_kv)


def test_allowed_masks_follow_the_layer_kind():
    ap = _patterns(("global", "sliding", "bidirectional"), (None, 2, None))
    assert ap.allowed(0).sum() == 21 and ap.allowed(2).all()
    assert not ap.allowed(1)[5, 3] and ap.allowed(1)[5, 4]
    assert ap.layer_label(1) == "L1 sliding window 2" and ap.layer_label(2) == "L2 bidirectional"


def test_kv_groups_and_bad_heads():
    ap = _patterns(n_kv=2)
    assert [ap.kv_group(h) for h in range(4)] == [0, 0, 1, 1]
    with pytest.raises(UserError, match="out of range"):
        ap.pattern(0, 4)
    with pytest.raises(UserError, match="not captured"):
        ap.pattern(7, 0)


def test_pattern_frame_and_dict_skip_masked_cells():
    ap = _patterns()
    f = ap.frame(layer=1, head=0)
    assert list(f.columns) == ["layer", "head", "query", "key", "query_token", "key_token", "weight"]
    assert len(f) == int(ap.allowed(1).sum()) and (f["query"] - f["key"]).max() < 2
    d = ap.to_dict(layer=0, head=2)
    assert len(d["layers"]) == 1 and d["layers"][0]["heads"][0]["head"] == 2
    assert np.allclose(np.sum(d["layers"][0]["heads"][0]["pattern"], axis=-1), 1.0)


def test_pattern_figure_greys_out_masked_keys():
    fig = pattern_figure(_patterns(), 1, 0)
    z = np.array(fig.data[0].z, dtype=float)
    assert np.isnan(z[5, 0]) and np.isnan(z[0, 1]) and z[5, 5] == pytest.approx(0.5)
    assert "sliding window 2" in fig.layout.title.text
    assert "<script>" not in str(fig.layout.yaxis.ticktext)


def test_grid_has_one_heatmap_per_head_and_labels_layers():
    fig = pattern_grid_figure(_patterns())
    assert len(fig.data) == 8
    texts = [a.text for a in fig.layout.annotations]
    assert "L1 sliding window 2" in texts and "head 3" in texts


def test_head_map_click_round_trip():
    ap = _patterns()
    s = head_scores(ap)
    assert len(s) == 8 and s["first_token"].iloc[0] > s["first_token"].iloc[4]  # sliding heads drop the first token
    fig = head_map_figure(ap, "entropy", selected=(1, 2))
    assert fig.data[0].marker.symbol == "square" and len(fig.data) == 2
    event = {"selection": {"points": [{"curve_number": 0, "x": 2, "y": 1, "point_index": 6}]}}
    assert clicked_square(event) == (1, 2)
    assert clicked_square({"selection": {"points": [{"curve_number": 1, "x": 2, "y": 1}]}}) is None
    assert clicked_square(None) is None


def test_token_view_escapes_every_token_and_shades_by_weight():
    ap = _patterns()
    html_text = attention_tokens_html(ap, 0, 0)
    assert "<script>" not in html_text and "&lt;script&gt;" in html_text
    assert "&amp;amp;" in html_text  # '&amp;' as a token is shown literally
    assert html_text.count('class="q"') == len(TOKS)
    assert html_text.count('title="') == len(TOKS) ** 2
    assert 'title="0.5000" style="background:rgba(30,110,255,0.50)' in html_text


def _dla() -> DirectLogitAttribution:
    heads = np.array([[0.1, -0.2], [0.3, 0.05]])
    return DirectLogitAttribution("m", TOKS, 5, " sat", " ran", 0.5, heads.sum(1), heads, np.array([1.0, -0.25]),
                                  0.125, 1.525, 0.3, False)


def test_dla_tables_add_up():
    d = _dla()
    assert d.total == pytest.approx(0.5 - 0.1 + 0.35 + 0.75 + 0.125)
    lf = d.layer_frame()
    assert list(lf["component"]) == ["embed", "attn 0", "mlp 0", "attn 1", "mlp 1", "final norm bias"]
    f = d.frame()
    assert list(f.columns) == ["component", "kind", "layer", "head", "value"] and (f["kind"] == "head").sum() == 4
    assert d.label == "logit[' sat'] − logit[' ran']"
    assert d.to_dict()["token"] == " sat"


def test_dla_figures():
    d = _dla()
    wf = dla_waterfall_figure(d)
    assert list(wf.data[0].x)[-1] == "total" and list(wf.data[0].measure)[-1] == "total"
    assert list(wf.data[0].y)[:6] == list(d.layer_frame()["value"])
    hf = dla_heads_figure(d, selected=(1, 0))
    assert list(hf.data[0].marker.color) == [0.1, -0.2, 0.3, 0.05]
    assert hf.data[0].marker.cmin == -0.3 and len(hf.data) == 2


def test_writes_figure_and_dict():
    rows = []
    for v in ("raw", "normed"):
        for d, sign in (("promotes", 1), ("suppresses", -1)):
            rows.append(pd.DataFrame({"variant": v, "direction": d, "rank": [1, 2], "token": ["<b>", " x"],
                                      "token_id": [3, 4], "value": [sign * 2.0, sign * 1.0]}))
    w = NeuronWrites("m", "mlp", 1, 7, 2.5, pd.concat(rows, ignore_index=True), "note")
    fig = writes_figure(w, "raw")
    assert len(fig.data) == 2 and "<b>" not in str(fig.data[1].y)
    d = w.to_dict()
    assert d["raw_promotes"][0]["value"] == 2.0 and d["normed_suppresses"][1]["token"] == " x"


def test_prompt_views():
    pa = PromptActivations("m", "mlp", 1, 3, TOKS, np.array([0, 1, -2, 0.5, 0, 4], np.float32),
                           np.tile(np.arange(3), (6, 1)), np.tile(np.array([5, 4, 3], np.float32), (6, 1)))
    html_text = prompt_heatmap_html(pa, selected=2)
    assert "&lt;script&gt;" in html_text and "<script>" not in html_text and 'title="-2"' in html_text
    fig = prompt_tokens_figure(pa, selected=5)
    assert list(fig.data[0].x) == list(range(6)) and len(fig.data) == 2
    top = top_neurons_figure(pa, 5)
    assert list(top.data[0].y) == ["#0", "#1", "#2"]
    assert list(pa.top_at(-1)["dim"]) == [0, 1, 2]
    assert pa.frame()["activation"].iloc[5] == 4
