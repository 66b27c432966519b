"""The ablation page on the embedded Gemma 3 270M, clicked through with AppTest."""
PAGE = "pages/ablation.py"
EIFFEL = "The Eiffel Tower is located in the city of"




def test_layer_sweep_shows_which_layers_carry_paris(app):
    at = app.open(PAGE)
    assert at.text_area(key="ab_prompt").value == EIFFEL
    assert at.text_input(key="ab_target").value == " Paris"
    at.selectbox(key="ab_site").set_value("mlp_out")
    at.selectbox(key="ab_method").set_value("zero")
    at.radio(key="ab_sweep").set_value("layers")
    at.run()
    at.button(key="ab_sweep_run").click()
    at.run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    frames = [d.value for d in at.dataframe]
    sweep = next(f for f in frames if "target_prob_delta" in f.columns)
    assert list(sweep["layer"]) == list(range(18))
    assert (sweep["target_prob_clean"] > 0.5).all()  # Gemma is confident about ' Paris' before any ablation
    worst = set(sweep.nsmallest(2, "target_prob_delta")["layer"])
    # zeroing the MLP of block 1 or 3 wipes ' Paris' out; most other MLPs barely matter
    assert worst == {1, 3}
    assert (sweep.set_index("layer").loc[[1, 3], "target_prob_ablated"] < 0.1).all()
    assert any("Layers that matter most for ' Paris'" in t.value for t in at.text)
    assert at.get("plotly_chart")
    assert at.query_params["ab_site"] == ["mlp_out"] or at.query_params["ab_site"] == "mlp_out"


def test_compare_and_bad_inputs(app):
    at = app.open(PAGE)
    at.selectbox(key="ab_site").set_value("head")
    at.run()
    at.number_input(key="ab_layer").set_value(3)
    at.text_input(key="ab_heads").input("9")
    app.press(at, "ab_run")
    at.run()
    assert not at.exception
    assert any("Head 9 is out of range" in e.value for e in at.error)

    at.text_input(key="ab_heads").input("0,1,2,3")
    at.number_input(key="ab_gen").set_value(3)
    at.checkbox(key="ab_repair").check()
    app.press(at, "ab_run")
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("hooks left on the model: 0" in c.value for c in at.caption)
    assert any(t.value.startswith("clean:") for t in at.text)
    assert any(m.label == "total / direct" for m in at.metric)

    # a mean ablation whose reference file does not exist: one clear message, no traceback
    at.selectbox(key="ab_method").set_value("mean")
    at.run()
    at.radio(key="ab_ref_kind").set_value("Local file")
    at.run()
    at.text_input(key="ab_ref_path").input("/no/such/reference.txt")
    at.run()
    app.press(at, "ab_run")
    at.run()
    assert not at.exception
    errs = [e.value for e in at.error]
    assert any("reference corpus" in e for e in errs), errs


def test_settings_come_from_the_link(app):
    at = app.open(PAGE, query={"ab_site": "neuron", "ab_layer": "99", "ab_index": "5,7", "ab_method": "scale",
                               "ab_scale": "2.5", "ab_pos": "chosen", "ab_pos_list": "-1,2", "ab_target": " Rome",
                               "ab_sweep": "scale"})
    assert at.selectbox(key="ab_site").value == "neuron"
    assert at.number_input(key="ab_layer").value == 17  # clamped to the last block
    assert at.text_input(key="ab_index").value == "5,7"
    assert at.number_input(key="ab_scale").value == 2.5
    assert at.text_input(key="ab_pos_list").value == "-1,2"
    assert at.text_input(key="ab_target").value == " Rome"
    assert at.radio(key="ab_sweep").value == "scale"
    app.press(at, "ab_run")
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("scale ×2.5 at neuron 17 neurons 5,7 (positions -1,2)" in c.value for c in at.caption)
