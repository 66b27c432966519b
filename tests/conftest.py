"""Shared fixtures: offline hub, a private cache dir, tiny models of each family, embedded models."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# AppTests run pages in this process: no background warm-up threads here (they would compete with every test for
# the two cores and could still be inside a forward pass when the interpreter exits). Real servers (e2e) warm up.
os.environ.setdefault("LOOKING_GLASS_WARMUP", "0")

from tiny_models import FAMILIES, build_tiny  # noqa: E402

SHARED_BOOK = ROOT.parent / "shared" / "corpora" / "through_the_looking_glass.txt"


def pytest_collection_modifyitems(items):
    """The cost tiers (scripts/test.sh --fast leaves out slow, browser and load): a test that takes the `gemma`
    fixture or runs a page in AppTest (the pages open on Gemma) is slow, every test under tests/e2e is a browser
    test; files that load Gemma some other way carry their own `slow` mark."""
    for item in items:
        parts = item.path.parts
        if "gemma" in getattr(item, "fixturenames", ()) or ("tests" in parts and "app" in parts):
            item.add_marker(pytest.mark.slow)
        if "e2e" in parts:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("tiny")
    return {f: build_tiny(f, base / f) for f in FAMILIES}


@pytest.fixture(scope="session")
def tiny_models(tiny_dirs):
    from interp_core import load_model, make_spec

    return {f: load_model(make_spec(str(d), device="cpu")) for f, d in tiny_dirs.items()}


@pytest.fixture(params=FAMILIES)
def tiny(request, tiny_models):
    """Each tiny family in turn."""
    return tiny_models[request.param]


@pytest.fixture(scope="session")
def gemma():
    from interp_core import load_model, make_spec

    return load_model(make_spec("gemma-3-270m", device="cpu"))


@pytest.fixture(scope="session")
def minilm():
    from interp_core import load_model, make_spec

    return load_model(make_spec("minilm-l6", device="cpu"))


@pytest.fixture
def shared_book() -> Path:
    if not SHARED_BOOK.exists():
        pytest.skip("../shared/corpora is not on this machine")
    return SHARED_BOOK
