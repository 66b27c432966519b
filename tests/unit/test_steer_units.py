"""Steering without a model: position and α parsing, the direction registry's extension point, and the sweep
chart (categorical α axis, points that carry their sweep index)."""
from __future__ import annotations

import pytest
import torch

from interp_core import UserError
from interp_core.ablation.directions import SOURCES, Direction, DirectionSpec, register_source
from interp_core.ablation.results import Side, TokenProb
from interp_core.ablation.steer import Steer, make_steer, steer_positions
from interp_core.ablation.steer_results import Continuation, SteerPoint, SteerSweep
from interp_core.ablation.steer_run import parse_alphas
from interp_core.plots.steer import steer_sweep_figure


def test_positions():
    assert steer_positions("all", 6) == (0, ())
    assert steer_positions("last", 6) == (None, (5,))
    assert steer_positions("from 2", 6) == (2, ()) == steer_positions("2:", 6)
    assert steer_positions("from -2", 6) == (4, ())
    assert steer_positions("0, -1,3", 6) == (None, (0, 3, 5))
    for bad in ("from x", "7", "1,,z"):
        with pytest.raises(UserError):
            steer_positions(bad, 6)


def test_hook_adds_only_where_asked_generated_tokens_included():
    x = torch.zeros(2, 8, 3)
    delta = torch.tensor([1.0, 2.0, 3.0])
    out = make_steer(delta, Steer(positions="from 4"), prompt_len=6)(x)  # T = 8: two generated positions
    assert torch.equal(out[:, :4], x[:, :4]) and torch.equal(out[:, 4:], delta.expand(2, 4, 3))
    one = make_steer(delta, Steer(positions="1"), prompt_len=6)(x)
    assert torch.equal(one[:, 1], delta.expand(2, 3)) and one.abs().sum() == 2 * delta.sum()
    assert make_steer(torch.zeros(3), Steer(), prompt_len=6)(x) is x  # α = 0: untouched, not even copied


def test_alphas():
    assert parse_alphas("-8:8:9") == (-8.0, -6.0, -4.0, -2.0, 0.0, 2.0, 4.0, 6.0, 8.0)
    assert parse_alphas("0, 1.5") == (0.0, 1.5)
    assert parse_alphas("-0.4:0.4:9")[4] == 0.0
    for bad in ("", "a", "1:2", "nan", "0:1:0"):
        with pytest.raises(UserError):
            parse_alphas(bad)


def test_a_new_source_kind_plugs_in():
    def feature(lm, params, site):
        return Direction(torch.ones(4) * float(params["scale"]), "feature", f"feature {params['id']}")

    register_source("test_feature", "a test feature's decoder row", feature)
    try:
        spec = DirectionSpec.of("test_feature", id=3, scale=2)
        assert spec.get("id") == "3" and hash(spec) == hash(DirectionSpec.of("test_feature", scale=2, id=3))
        d = SOURCES["test_feature"].build(None, dict(spec.params), None)
        assert d.norm == 4.0 and d.to_dict()["width"] == 4
    finally:
        SOURCES.pop("test_feature")


def _side(tok: str, p: float) -> Side:
    return Side((TokenProb(tok, 1, p, 0.0),))


def test_sweep_figure_is_categorical_and_clickable():
    pts = tuple(SteerPoint(a, abs(a), _side("x", 0.1), (0.1 + i / 10, 0.5), Continuation(("a",), -1.0 - i), None)
                for i, a in enumerate((-1.0, 0.0, 1.0)))
    sw = SteerSweep(Steer(alpha_unit="norm"), Direction(torch.ones(2), "vector", "v"), "m", ("a",), 0, "resid.0",
                    2.0, (" in", " the"), _side("x", 0.1), (0.1, 0.5), Continuation(("a",), -1.0), pts)
    fig = steer_sweep_figure(sw, picked=2)
    assert fig.layout.xaxis2.type == "category"
    assert list(fig.data[0].x) == ["-1", "0", "+1"] and list(fig.data[0].customdata) == [0, 1, 2]
    assert [t.name for t in fig.data] == ["' in'", "' the'", "coherence"]
    frame = sw.frame()
    assert len(frame) == 6 and set(frame["target"]) == {" in", " the"}
    assert sw.to_dict()["records"][2]["target_probs"] == {" in": 0.1 + 2 / 10, " the": 0.5}
