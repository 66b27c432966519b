"""The app frame loads the embedded model in the sidebar and shows the landing page."""
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_home_loads_default_model():
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception
    assert any("Loaded" in s.value and "gemma-3-270m" in s.value for s in at.success)
    assert any("18 layers" in c.value for c in at.sidebar.caption)
    assert len(at.main.get("plotly_chart")) == 1  # where the parameters are: something to look at on arrival


def test_bad_custom_model_shows_one_message():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["model"] = "no-such-org/no-such-model"
    at.run()
    assert not at.exception
    errs = [e.value for e in at.error]
    assert errs and "no-such-org/no-such-model" in errs[0] and "Traceback" not in errs[0]
