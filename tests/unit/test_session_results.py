"""A session's kept results are a bounded LRU by approximate bytes, so memory cannot grow with use."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ui.store import SessionResults, approx_bytes


@dataclass(frozen=True)
class FakeResult:
    top: np.ndarray
    table: pd.DataFrame
    tokens: tuple[str, ...]


def result(mb: float) -> FakeResult:
    return FakeResult(np.zeros(int(mb * 2**20) // 8), pd.DataFrame({"x": np.arange(10)}), ("a", "b"))


def test_approx_bytes_counts_buffers():
    r = result(1)
    assert 2**20 <= approx_bytes(r) < 2**20 + 10_000


def test_lru_stays_under_its_byte_bound_over_many_runs():
    store = SessionResults(max_bytes=10 * 2**20)
    for i in range(200):  # hours of use: every run a new prompt
        store.put("lens", f"fp{i}", result(1), {"prompt": i})
        assert store.n_bytes <= 10 * 2**20 + 20_000
    assert len(store._items) <= 10
    assert store.get("lens", "fp199") is not None and store.get("lens", "fp0") is None


def test_recently_used_results_survive_eviction():
    store = SessionResults(max_bytes=3 * 2**20 + 50_000)
    for i in range(3):
        store.put("lens", f"fp{i}", result(1), {"i": i})
    assert store.get("lens", "fp0") is not None  # touched: now the most recent
    store.put("lens", "fp3", result(1), {"i": 3})
    assert store.get("lens", "fp0") is not None and store.get("lens", "fp1") is None


def test_one_oversized_result_is_kept_alone_and_latest_tracks_eviction():
    store = SessionResults(max_bytes=2**20)
    store.put("scan", "a", result(0.5), {})
    store.put("scan", "b", result(3), {})
    assert [k for k in store._items] == [("scan", "b")]  # the newest is shown even when over the bound
    assert store.latest("scan")[0].top.nbytes == 3 * 2**20
    store.put("lens", "c", result(0.5), {})
    assert store.latest("scan") is None and store.latest("lens") is not None
