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
    pl = at.main.get("page_link")
    dims = at.dataframe[-1].value.query("layer == 17")["dim"].tolist()
    assert [p.proto.label for p in pl] == [f"dim {d}" for d in dims]
    assert pl[0].proto.query_string.startswith(f"model=gemma-3-270m&ne_site=mlp&ne_layer=17&ne_dim={dims[0]}&")
    assert "ne_tab=Seed" in pl[0].proto.query_string
    # overlaid histograms and dimension scatter re-plot without recomputing
    at.session_state["ad_tab"] = "Histograms"
    at.run()
    at.radio(key="ad_hist").set_value("overlay").run()
    at.session_state["ad_tab"] = "Scatter"
    at.run()
    at.radio(key="ad_x").set_value("dim").run()
    assert not at.exception and not at.error and len(_charts(at)) == 1


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
    assert not at.main.get("page_link")
    # attention outputs have no Neuron explorer page: a plain table, no links
    assert "open" not in at.dataframe[-1].value.columns
    # hidden states of an encoder: 7 entries (embeddings first), links into the Neuron explorer
    at.selectbox(key="ad_site").set_value("resid").run()
    app.press(at, "ad_run")
    assert not at.exception and not at.error
    assert next(m.value for m in at.metric if m.label == "Layers") == "7"
    pl = at.main.get("page_link")
    assert pl and pl[0].proto.query_string.startswith("model=minilm-l6&ne_site=resid&ne_layer=0&ne_dim=")
