"""Logit lens page end to end on the embedded Gemma 3 270M: the Eiffel prompt, method switch, views."""
from __future__ import annotations

import json


PAGE = "pages/logit_lens.py"


def _open(app, query=None):
    return app.open(PAGE, frame_query=query)




def _kept(at, slot: str = "ll_lens") -> int:
    """How many results of `slot` this session keeps (ui.runner's per-session store)."""
    return sum(1 for (s, _fp) in at.session_state["_lg_results"]._items if s == slot)


def _figures(at) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def _titles(at) -> list[str]:
    out = []
    for f in _figures(at):
        t = f["layout"].get("title", "")
        out.append(t.get("text", "") if isinstance(t, dict) else str(t))
    return out


def _heat_text(at) -> list[list[str]]:
    return _figures(at)[0]["data"][0]["text"]  # (layers, positions) top-1 tokens


def test_eiffel_paris_takes_over_in_upper_layers(app):
    at = _open(app)
    app.press(at, "ll_lens_run")  # without a background warm-up (none in the test process) the first lens may wait for its button
    assert not at.error, [e.value for e in at.error]
    assert at.text_input(key="ll_prompt").value == "The Eiffel Tower is located in the city of"
    text = _heat_text(at)
    assert len(text) == 19  # embeddings + 18 layers
    last = [row[-1] for row in text]
    assert last[-4:] == ["␣Paris"] * 4, last  # the upper layers predict ' Paris' at ' of'
    assert "␣Paris" not in last[:8]  # ... and the lower ones do not
    snap = next(m for m in at.metric if m.label == "Snap layer")
    assert 10 <= int(snap.value) <= 18
    assert next(m for m in at.metric if m.label == "Target").value == "' Paris'"
    assert len(_figures(at)) >= 3  # heatmap, trajectory and the open tab below (direct logit attribution)
    # the tabs below the trajectory: only the open one is drawn (its name is kept in the URL)
    assert any(t.startswith("Direct logit attribution") for t in _titles(at))
    assert not any(t.startswith("Heads by") for t in _titles(at))
    at.session_state["ll_view"] = "Token sweep"
    at.run()
    assert not at.exception and not at.error
    assert at.get("subheader") and any(h.value == "Next-token sweep" for h in at.get("subheader"))
    assert not any(t.startswith("Direct logit attribution") for t in _titles(at)) and len(_figures(at)) == 3
    at.session_state["ll_view"] = "Attention patterns"
    at.run()
    assert not at.exception and not at.error
    assert any(t.startswith("Heads by") for t in _titles(at))
    at.session_state["ll_view"] = "Direct logit attribution"
    at.run()
    assert at.query_params["ll_method"] in (["auto"], "auto")

    # switching the method is a recompute; the naive dot product does not give the same picture
    at.radio(key="ll_method").set_value("dot-product").run()
    app.press(at, "ll_lens_run")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "dot-product" in _figures(at)[0]["layout"]["title"]["text"]
    at.radio(key="ll_method").set_value("auto").run()  # kept for this session: no recompute, no button
    assert [row[-1] for row in _heat_text(at)][-1] == "␣Paris"

    # colour mode, top-k and position change the view only (the session memo holds both lens results)
    at.radio(key="ll_color").set_value("target_rank").run()
    at.slider(key="ll_topk").set_value(3).run()
    assert not at.exception and not at.error
    assert _kept(at) == 2
    hover = _figures(at)[0]["data"][0]["customdata"][-1][-1]
    assert hover.count(" p=") == 3 + 1  # top-3 lines and the target line
    at.selectbox(key="ll_pos").set_value(3).run()
    assert not at.exception and not at.error
    assert _kept(at) == 2


def test_target_and_bad_input_messages(app):
    at = _open(app, {"ll_target": " Paris"})
    app.press(at, "ll_lens_run")
    assert not at.error, [e.value for e in at.error]
    assert next(m for m in at.metric if m.label == "Target").value == "' Paris'"
    at.text_input(key="ll_target").input(" Eiffel Tower").run()
    app.press(at, "ll_lens_run")
    assert not at.exception
    assert any("not a single token" in e.value for e in at.error)
    at.text_input(key="ll_target").input("").run()
    at.text_input(key="ll_prompt").input("   ").run()
    app.press(at, "ll_lens_run")
    assert not at.exception
    assert any("empty" in e.value for e in at.error)


def test_model_without_lm_head_says_so(app):
    at = _open(app, {"model": "minilm-l6"})
    assert not at.error
    assert any("has no LM head" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_a_link_opens_the_tab_it_names(app):
    """The open section below the trajectory travels in the URL (ll_view): a copied link reopens it."""
    at = _open(app, {"ll_view": "Attention patterns"})
    app.press(at, "ll_lens_run")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(t.startswith("Heads by") for t in _titles(at))
    assert not any(t.startswith("Direct logit attribution") for t in _titles(at))
