"""The Activation distributions page works by clicking, on the embedded Gemma 3 270M and MiniLM (small budgets)."""
from streamlit.testing.v1 import AppTest

PAGE = "pages/distributions.py"


def _open(app, model: str | None = None, **params) -> AppTest:
    at = app.open(PAGE, state=params, model=model)
    app.press(at, "ad_run")
    assert not at.exception, at.exception
    return at




def _charts(at):
    return at.get("plotly_chart")


TAB_CHARTS = {"Histograms": 1, "Scatter": 1, "Between layers": 2, "Statistics": 1}  # R² and covariance together


def _all_tabs(at) -> int:
    """Open each tab in turn (only the open one is drawn); the charts drawn over all of them, Statistics left open."""
    n = 0
    for name, want in TAB_CHARTS.items():
        at.session_state["ad_tab"] = name
        at.run()
        assert not at.exception and not at.error, (name, at.exception, [e.value for e in at.error])
        assert len(_charts(at)) == want, (name, len(_charts(at)))
        n += want
    return n



def _outlier_buttons(at):
    return [b for b in at.main.button if (b.key or "").startswith("ad_open_")]

def test_gemma_corpus_sample_then_clicks(app):
    at = _open(app, ad_tokens=48)
    assert not at.error, [e.value for e in at.error]
    assert any(m.label == "Tokens measured" for m in at.metric)
    n_excl = int(next(m.value for m in at.metric if m.label == "Tokens measured").replace(",", ""))
    n_seq = int(next(m.value for m in at.metric if m.label == "Sequences").replace(",", ""))
    assert next(m.value for m in at.metric if m.label == "Layers") == "19"
    assert len(_charts(at)) == 1  # only the open tab (histograms) is drawn
    assert _all_tabs(at) == 5  # histograms, scatter, R², covariance, spread
    assert at.query_params["ad_site"] == "resid" and at.query_params["ad_tokens"] == "48"
    # switch off "exclude first token": one more token per sequence
    at.toggle(key="ad_first").set_value(False).run()
    app.press(at, "ad_run")
    assert not at.exception and not at.error
    n_incl = int(next(m.value for m in at.metric if m.label == "Tokens measured").replace(",", ""))
    assert n_incl - n_excl == n_seq
    # MLP neurons: 18 layers, outlier links into the Neuron explorer
    at.selectbox(key="ad_site").set_value("mlp").run()
    app.press(at, "ad_run")
    assert not at.exception and not at.error
    assert next(m.value for m in at.metric if m.label == "Layers") == "18"
    links = at.dataframe[-1].value["open"].tolist()
    assert links and links[0].startswith("neuron_explorer?") and "ne_site=mlp" in links[0] and "ne_dim=" in links[0]
    # in-app links for one layer's outlier dims: the dims of the stats table, in order
    at.selectbox(key="ad_open_layer").set_value(17).run()
    opens = _outlier_buttons(at)
    dims = at.dataframe[-1].value.query("layer == 17")["dim"].tolist()
    assert [b.label for b in opens] == [f"dim {d}" for d in dims]
    # overlaid histograms and dimension scatter re-plot without recomputing
    at.session_state["ad_tab"] = "Histograms"
    at.run()
    at.radio(key="ad_hist").set_value("overlay").run()
    at.session_state["ad_tab"] = "Scatter"
    at.run()
    at.radio(key="ad_x").set_value("dim").run()
    assert not at.exception and not at.error and len(_charts(at)) == 1
    # an outlier's button opens the neuron explorer's seed method on it, run like a change the user asked for
    # (up to 10 s without a click, not the 2 s of a page opening); layer 1's estimate is a few seconds
    at.session_state["ad_tab"] = "Statistics"
    at.run()
    at.selectbox(key="ad_open_layer").set_value(1).run()
    dim = int(_outlier_buttons(at)[0].label.split()[-1])
    at = _outlier_buttons(at)[0].click().run()
    assert not at.exception, at.exception
    assert at.session_state["ne_dim"] == dim and at.session_state["ne_layer"] == 1
    assert at.session_state["ne_site"] == "mlp" and at.session_state["ne_tab"] == "Seed method"
    assert not [i for i in at.info if i.value.startswith("Not started automatically")], [i.value for i in at.info]
    assert any("distinct winning tokens" in h.value for h in at.subheader), [h.value for h in at.subheader]


def test_gemma_prompt_and_bad_prompt(app):
    at = _open(app, ad_source="prompt", ad_prompt="<script>alert(1)</script> The Red Queen ran.")
    assert not at.exception and not at.error
    assert next(m.value for m in at.metric if m.label == "Sequences") == "1"
    at.text_area(key="ad_prompt").set_value("   ").run()
    assert not at.exception
    errs = [e.value for e in at.error]
    assert errs == ["The prompt is empty; type some text first."]
    assert not _charts(at)


def test_minilm_encoder(app):
    at = _open(app, "minilm-l6", ad_tokens=40, ad_site="attn_out")
    assert not at.error, [e.value for e in at.error]
    assert next(m.value for m in at.metric if m.label == "Layers") == "6"
    assert _all_tabs(at) == 5
    assert not _outlier_buttons(at)
    # attention outputs have no Neuron explorer page: a plain table, no links
    assert "open" not in at.dataframe[-1].value.columns
    # hidden states of an encoder: 7 entries (embeddings first), links into the Neuron explorer
    at.selectbox(key="ad_site").set_value("resid").run()
    app.press(at, "ad_run")
    assert not at.exception and not at.error
    assert next(m.value for m in at.metric if m.label == "Layers") == "7"
    assert _outlier_buttons(at) and _outlier_buttons(at)[0].key.startswith("ad_open_0_")


def test_bins_and_first_token_redraw_from_the_kept_measurement_without_the_model(app, monkeypatch):
    """Moving the bins slider or flipping "Exclude first token" redraws at once from the kept summaries: no
    forward pass, no estimate or Measure button, and the first token's positions come back when included."""
    from interp_core.engine.model import LoadedModel

    at = _open(app, ad_tokens=48)
    assert not at.error, [e.value for e in at.error]
    n_excl = int(next(m.value for m in at.metric if m.label == "Tokens measured").replace(",", ""))
    n_seq = int(next(m.value for m in at.metric if m.label == "Sequences").replace(",", ""))
    calls = []
    real_run = LoadedModel.run
    monkeypatch.setattr(LoadedModel, "run", lambda self, *a, **k: calls.append(1) or real_run(self, *a, **k))
    at.slider(key="ad_bins").set_value(37).run()
    assert not at.exception and not at.error and not calls
    assert len(_charts(at)) == 1 and not [b for b in at.button if b.key == "ad_run"]
    assert at.session_state["ad_hbins"] == "own"
    at.radio(key="ad_hbins").set_value("shared").run()
    assert "37 equal bins" in " ".join(c.value for c in at.caption)
    at.toggle(key="ad_first").set_value(False).run()
    assert not at.exception and not at.error and not calls
    assert not [b for b in at.button if b.key == "ad_run"] and len(_charts(at)) == 1
    n_incl = int(next(m.value for m in at.metric if m.label == "Tokens measured").replace(",", ""))
    assert n_incl - n_excl == n_seq
    assert not calls
