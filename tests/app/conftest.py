"""What every AppTest file needs: open a page of the app (inside app.py's frame, on the default model unless one is
given) and press a run button. AppTest runs the pages in this process on the embedded Gemma: every test here is
`slow` (tests/conftest.py marks them)."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_page(page: str, *, query: Mapping[str, Any] | None = None, state: Mapping[str, Any] | None = None,
              model: str | None = None, frame_query: Mapping[str, Any] | None = None,
              timeout: float = 600) -> AppTest:
    """Run app.py (the frame: sidebar, model; `frame_query` and `model` are in the URL from the start, as in a
    pasted link), then switch to `page` with the `query` URL parameters and `state` widget values, and run it; no
    exception allowed."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in {**(frame_query or {}), **({"model": model} if model else {})}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    at.switch_page(page)
    for k, v in (query or {}).items():
        at.query_params[k] = str(v)
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def press(at: AppTest, key: str) -> AppTest:
    """Click a run button; when the page already ran it by itself (small estimate) there is none: just rerun."""
    try:
        button = at.button(key=key)
    except KeyError:
        return at.run()
    return button.click().run()


@pytest.fixture
def app() -> SimpleNamespace:
    """`app.open(page, query=…, state=…, model=…)` and `app.press(at, key)`."""
    return SimpleNamespace(open=open_page, press=press)
