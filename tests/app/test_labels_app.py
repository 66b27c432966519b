"""Labels a workshop reads: the writes tables show whitespace tokens visibly with their values, and the
ready-made pair box stops naming a pair once its prompts were edited."""
from __future__ import annotations


def test_writes_tables_show_every_token_and_its_value(app):
    at = app.open("pages/neuron_explorer.py", query={"ne_tab": "On your own prompt", "ne_layer": 2, "ne_pdim": 345})
    assert not at.exception and not at.error, [e.value for e in at.error]
    tables = [d.value for d in at.dataframe if list(d.value.columns) == ["rank", "token", "value"]]
    assert len(tables) == 2, [list(d.value.columns) for d in at.dataframe]
    tokens = [t for tab in tables for t in tab["token"]]
    assert all(t and t.strip() == t and "\n" not in t for t in tokens), tokens  # nothing blank or invisible
    assert any(t.startswith("␣") for t in tokens), tokens
    assert all(tab["value"].notna().all() for tab in tables)


def test_ready_made_pair_box_follows_edited_prompts(app):
    from ui.sections.patching import CUSTOM

    at = app.open("pages/ablation.py", query={"ab_tab": "Which components matter?"})
    assert at.selectbox(key="pt_pair").value != CUSTOM
    at.text_input(key="pt_clean").set_value("The Louvre is located in the city of").run()
    assert not at.exception
    assert at.selectbox(key="pt_pair").value == CUSTOM
