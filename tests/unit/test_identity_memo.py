"""The shared figure memo: one value per (result object, options), results by identity and options by value, never
a stale value for a new result, failures not kept, and a bounded size; the memoized lens figures equal fresh ones
built without the memo."""
from __future__ import annotations

import numpy as np
import pytest

from interp_core import identity_memo
from interp_core.identity_memo import MAX_ENTRIES, identity_memo as memo


@pytest.fixture(autouse=True)
def _clean():
    identity_memo.clear()
    yield
    identity_memo.clear()


class Result:
    def __init__(self, x: float) -> None:
        self.x = x


def test_same_result_and_options_share_one_value_others_do_not():
    calls = []

    @memo
    def build(r: Result, scale: float = 1.0, window: tuple[int, int] | None = None) -> list[float]:
        calls.append((r, scale, window))
        return [r.x * scale]

    a, b = Result(2.0), Result(2.0)  # equal contents, two objects: a new result is never served an old value
    assert build(a) is build(a)
    assert build(b) is not build(a)
    assert build(a, 3.0) == [6.0] and build(a, scale=3.0) == [6.0]
    assert build(a, window=(0, 4)) is build(a, window=(0, 4))
    assert build(a, window=(0, 4)) is not build(a, window=(0, 5))
    assert build(a, np.int64(3)) == [6.0] and build(a, np.int64(3)) is build(a, np.int64(3))  # numpy scalars: values
    assert len(calls) == 7


def test_a_failure_is_not_kept():
    tries = []

    @memo
    def flaky(r: Result) -> float:
        tries.append(1)
        if len(tries) == 1:
            raise ValueError("first time")
        return r.x

    r = Result(1.0)
    with pytest.raises(ValueError):
        flaky(r)
    assert flaky(r) == 1.0 and len(tries) == 2


def test_size_is_bounded_and_the_oldest_goes_first():
    @memo
    def build(r: Result) -> list[float]:
        return [r.x]

    results = [Result(float(i)) for i in range(MAX_ENTRIES + 5)]
    first = build(results[0])
    for r in results[1:]:
        build(r)
    assert len(identity_memo._CACHE) == MAX_ENTRIES
    assert build(results[0]) is not first  # evicted, built again
    assert build(results[-1]) is build(results[-1])


def test_memoized_lens_figures_equal_fresh_ones():
    """The lens page's figures from the memo are the figures the plot functions build without it."""
    from interp_core.lens.trajectory import trajectory
    from interp_core.plots.clickable import with_click_cells
    from interp_core.plots.lens import clickable_lens_heatmap, lens_heatmap, trajectory_figure
    from unit.test_lens_plots import _result

    res = _result()
    for color in ("probability", "zscore"):
        fresh = unmemoized(lens_heatmap)(res, color, 2, None)
        assert lens_heatmap(res, color, 2, None).to_dict() == fresh.to_dict()
        clickable = clickable_lens_heatmap(res, color, 2, None, (1, 2))
        fresh_clickable = with_click_cells(unmemoized(lens_heatmap)(res, color, 2, None), selected=(1, 2))
        assert clickable.to_dict() == fresh_clickable.to_dict()
        assert lens_heatmap(res, color, 2, None).to_dict() == fresh.to_dict()  # the click layer went on its own
    traj = trajectory(res, 1)
    assert traj is trajectory(res, 1)
    fresh_traj = unmemoized(trajectory)(res, 1)
    assert trajectory_figure(traj).to_dict() == unmemoized(trajectory_figure)(fresh_traj).to_dict()


def unmemoized(fn):
    return fn.__wrapped__  # (functools.wraps keeps the function it memoizes)


def test_a_value_dies_with_its_result_and_a_reused_id_gets_a_fresh_value(monkeypatch):
    import gc

    @memo
    def build(r: Result) -> list[float]:
        return [r.x]

    a = Result(1.0)
    first = build(a)  # (no assert on the call: pytest's rewritten assert would keep `a` alive)
    key_of_a = identity_memo._part(a)
    del a
    gc.collect()
    assert first == [1.0] and not any(identity_memo._alive(refs) for refs, _ in identity_memo._CACHE.values())
    # a new object that gets the dead result's id (CPython reuses freed addresses) has the same key
    real_part = identity_memo._part
    monkeypatch.setattr(identity_memo, "_part", lambda x: key_of_a if isinstance(x, Result) else real_part(x))
    b = Result(2.0)
    assert build(b) == [2.0]  # never the dead result's value
    assert build(b) is build(b)  # and the new value is kept
    assert len(identity_memo._CACHE) == 1  # the dead entry is gone
