"""Links and defaults in AppTest on the embedded Gemma: out-of-range links are clamped with a notice and never start
big work on opening; ablation results are keyed by every input (stale notice); Cancel goes away after a run;
outlier links point at the neuron explorer; a lens cell selection offers "ablate here"."""
from __future__ import annotations


from streamlit.testing.v1 import AppTest



def _open(app, page: str, **query) -> AppTest:
    return app.open(page, query=query, timeout=900)


def _warnings(at) -> list[str]:
    return [w.value for w in at.warning]


def test_huge_token_budget_is_clamped_and_waits_for_a_click(app):
    at = _open(app, "pages/distributions.py", ad_tokens=999999999, ad_bins=5)
    assert at.number_input(key="ad_tokens").value == 20_000
    assert at.slider(key="ad_bins").value == 10
    assert any("?ad_tokens=999,999,999 is outside 16–20,000; using 20,000" in w for w in _warnings(at)), _warnings(at)
    assert any("?ad_bins=5 is outside 10–300" in w for w in _warnings(at))
    assert any("Not started automatically" in i.value for i in at.info)
    assert not [m for m in at.metric if m.label == "Tokens measured"]  # nothing ran
    assert at.button(key="ad_run").label == "Measure"


def test_layer_beyond_the_model_is_clamped_with_a_notice(app):
    at = _open(app, "pages/neuron_explorer.py", ne_layer=999, ne_dim=-4, ne_samples="lots")
    assert at.number_input(key="ne_layer").value == 17
    assert at.number_input(key="ne_layer").label == "Layer (0–17)"
    assert at.number_input(key="ne_dim").value == 0
    w = _warnings(at)
    assert any("?ne_layer=999 is outside 0–17; using 17" in x for x in w), w
    assert any("?ne_dim=-4 is outside" in x for x in w), w
    assert any("?ne_samples=lots is not a valid value" in x for x in w), w


def test_ablation_link_values_are_clamped_and_results_keyed_by_every_input(app):
    at = _open(app, "pages/ablation.py", ab_gen=999999999, ab_topk=0, ab_layer=3, ab_site="mlp_out")
    assert at.number_input(key="ab_gen").value == 64 and at.number_input(key="ab_topk").value == 1
    assert any("?ab_gen=999,999,999 is outside 0–64" in w for w in _warnings(at)), _warnings(at)
    assert not [m for m in at.metric if m.label.startswith("KL")]  # a 64-token generation waits for a click
    at.number_input(key="ab_gen").set_value(0)
    at.number_input(key="ab_topk").set_value(3)
    at.run()
    if not [m for m in at.metric if m.label.startswith("KL")]:  # not started by itself on a slow machine
        at.button(key="ab_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("zero at mlp_out 3 (all)" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key == "ab_cancel"]  # the Cancel button went away with the run
    # another layer: the old result stays, marked stale, until the new one is computed
    at.number_input(key="ab_layer").set_value(5)
    at.number_input(key="ab_gen").set_value(64).run()
    assert any("Showing the result for earlier inputs" in i.value and "layer" in i.value for i in at.info), \
        [i.value for i in at.info]
    assert any("zero at mlp_out 3 (all)" in c.value for c in at.caption)


def test_outlier_links_open_the_neuron_explorer(app):
    at = _open(app, "pages/distributions.py", ad_source="prompt", ad_site="resid", ad_tab="Statistics")
    if not [m for m in at.metric if m.label == "Tokens measured"]:  # not started by itself on a slow machine
        at.button(key="ad_run").click().run()
    assert not at.error, [e.value for e in at.error]
    out = next(d.value for d in at.dataframe if "open" in d.value.columns)
    assert out["open"].str.startswith("neuron_explorer?").all()
    assert out["open"].str.contains("ne_dim=").all()


def test_lens_cell_selection_offers_ablate_here(app):
    at = _open(app, "pages/logit_lens.py", ll_prompt="The capital of France is", ll_layer=4, ll_pos=3)
    if not at.get("plotly_chart"):
        at.button(key="ll_lens_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Cell: layer 4 · position 3" in m.value for m in at.markdown), [m.value for m in at.markdown][:8]
    assert at.button(key="ll_ablate_here")
    at.button(key="ll_ablate_here").click().run()
    assert not at.exception, at.exception
    assert at.text_area(key="ab_prompt").value == "The capital of France is"
    assert at.selectbox(key="ab_site").value == "resid" and at.number_input(key="ab_layer").value == 4
    assert at.text_input(key="ab_pos_list").value == "3"


def test_warm_up_computes_the_lens_pages_whole_default_view(app, monkeypatch):
    """A crowd of new sessions on the lens page must not each compute the default prompt's attention patterns and
    DLA: the background warm-up computes them once, with exactly the inputs the page asks for."""
    from ui import cache, warmup
    from ui.store import fingerprint

    _open(app, "pages/home.py")  # loads the default model into this process's cache (other tests may have loaded others)
    spec = next(s for s in cache._LOADED if s.name == "gemma-3-270m")
    lm = cache.cached_model(spec)
    slots = {"ll_lens", "attn_patterns", "ll_dla"}
    jobs = [j for j in warmup._jobs(lm) if j.slot in slots]
    assert {j.slot for j in jobs} == slots
    for j in jobs:
        cache.shared_store().put(j.slot, fingerprint(j.inputs), j.compute(), j.inputs)

    def recomputed(*a, **k):
        raise AssertionError("the page recomputed a result the warm-up had")
    import interp_core.components as components_pkg
    import interp_core.lens as lens_pkg
    monkeypatch.setattr(lens_pkg, "compute_lens", recomputed)
    monkeypatch.setattr(components_pkg, "attention_patterns", recomputed)
    monkeypatch.setattr(components_pkg, "direct_logit_attribution", recomputed)
    at = _open(app, "pages/logit_lens.py")
    assert not at.error, [e.value for e in at.error]
    assert any(m.label == "Sum of the parts" for m in at.metric)  # the DLA section drew its result
    assert len(at.get("plotly_chart")) >= 4


def test_a_link_naming_no_tab_says_so_and_opens_the_default_tab(app):
    at = _open(app, "pages/distributions.py", ad_source="prompt", ad_tab="<b>Nope</b>")
    assert any("?ad_tab=<b>Nope</b> is not one of the tabs; showing 'Histograms'." in w for w in _warnings(at)), \
        _warnings(at)
    assert "ad_tab" not in at.query_params
    at = _open(app, "pages/neuron_explorer.py", ne_tab="zzz")
    assert any("?ne_tab=zzz is not one of the tabs; showing 'Layer scan'." in w for w in _warnings(at)), _warnings(at)
    at = _open(app, "pages/logit_lens.py", ll_view="Attention patterns")  # a real tab name: no notice
    assert not any("ll_view" in w for w in _warnings(at)), _warnings(at)
