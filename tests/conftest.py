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


# Tests whose every case costs seconds on this 2-core CPU (`pytest --durations`: 2-8 s each, half the tiny tier's
# time): slow, so `--fast` stays under three minutes; the full suite and CI run them.
SECONDS_EACH = frozenset({
    "test_weights_unchanged_after_a_session", "test_encode_any_text", "test_million_character_paste",
    "test_numbers_match_numpy", "test_clean_into_clean_is_exactly_one", "test_scan_disk_cache_hit_and_invalidation",
    "test_batched_sweep_equals_one_run_per_point", "test_lesson_check_cli", "test_train_then_explore_a_feature",
    "test_views_equal_direct_measurements_without_the_model", "test_scan_matches", "test_models_in_memory_are_bounded",
    "test_feature_scan_equals_brute_force_encode", "test_seed_method_matches_brute_force",
    "test_scan_memory_does_not_grow_with_corpus", "test_eight_cold_starts_load_once", "test_sixteen_threads_tiny",
    "test_compiled_scan_equals_the_eager_scan",
})


def pytest_collection_modifyitems(items):
    """The cost tiers (scripts/test.sh --fast leaves out slow, browser and load): a test that takes the `gemma`
    fixture, starts a Ray cluster (`local_ray`) or runs a page in AppTest (the pages open on Gemma) is slow, every
    test under tests/e2e is a browser test; tests that start Python processes of their own carry a `slow` mark."""
    for item in items:
        parts = item.path.parts
        if {"gemma", "local_ray"} & set(getattr(item, "fixturenames", ())) or ("tests" in parts and "app" in parts):
            item.add_marker(pytest.mark.slow)
        if getattr(item, "originalname", item.name) in SECONDS_EACH:
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
