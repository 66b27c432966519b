"""Pins: made from live figures and inputs; key numbers read off a figure name the right cell or bar."""
from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go

from interp_core.report import Pin, Provenance
from interp_core.report.pins import figure_numbers


def test_pin_from_live_objects():
    fig = go.Figure(go.Bar(x=["a", "b"], y=np.array([0.25, 0.75])))
    pin = Pin.make("t", "ablation", {"ab_prompt": "Hi there", "ab_k": 5, "empty": ""}, fig,
                   Provenance("gemma-3-270m"), numbers={"p": 0.123456})
    assert pin.inputs == (("ab_prompt", "Hi there"), ("ab_k", "5"))
    assert pin.numbers == (("p", "0.1235"),)
    assert pin.link() == "ablation?ab_prompt=Hi+there&ab_k=5"
    assert pin.figure_dict()["data"][0]["type"] == "bar"
    assert json.loads(pin.figure) == json.loads(fig.to_json())


def test_figure_numbers_name_the_peak():
    heat = go.Figure(go.Heatmap(z=np.array([[0.1, 0.2, np.nan], [0.3, 0.9, 0.4]]), x=["The", " Eiff", "el"],
                                y=["L0", "L1"], name="lens"))
    bars = go.Figure([go.Bar(x=["x", "y", "z"], y=[3, 7, 5]), go.Scatter(y=[np.nan, np.nan])])
    assert figure_numbers(heat) == [("lens: largest value", "0.9 at ( Eiff, L1)")]
    assert figure_numbers(bars) == [("bar 1: largest value", "7 at y")]
