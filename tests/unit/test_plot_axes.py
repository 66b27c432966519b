"""Every figure of interp_core/plots, built from hand-made results: an axis that holds string labels is
categorical (Plotly reads labels such as '#1234' or '1. .' as numbers otherwise), and every figure is covered."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import interp_core.plots as plots_pkg
from interp_core.components import NeuronWrites, PromptActivations
from interp_core.lens import trajectory
from interp_core.lens.sweep import LensSweep, minmax_per_column
from interp_core.plots import ablation, clickable, components, distributions, flow, lens, model, neurons, patching, steer
from interp_core.plots.axes import text_axes
from interp_core.ablation import SWEEP_COLUMNS, Comparison, SelfRepair, Side, TokenProb
from interp_core.components import AttentionPatterns, DirectLogitAttribution
from interp_core.distributions import DistAccumulator
from interp_core.lens import LensResult, LensTarget

TOKS = ("<bos>", "12", " the", "\n", "&amp;", "#3")


def _side(*pairs):
    return Side(tuple(TokenProb(t, i, p, 1.0) for i, (t, p) in enumerate(pairs)), pairs[0][1], 1.0, 1)


def _frame(**cols):
    n = len(next(iter(cols.values())))
    base = {c: [None] * n for c in SWEEP_COLUMNS}
    base.update(top_token_ablated=["12"] * n, top_prob_ablated=[0.5] * n)
    base.update(cols)
    return pd.DataFrame(base, columns=SWEEP_COLUMNS)


def _patterns():
    t = len(TOKS)
    p = np.tril(np.ones((t, t), np.float32))
    p /= p.sum(-1, keepdims=True)
    return AttentionPatterns("m", TOKS, (0, 1), np.stack([np.stack([p] * 4)] * 2), ("global", "sliding"), (None, 2), 1)


def _dla():
    heads = np.array([[0.1, -0.2], [0.3, 0.05]])
    return DirectLogitAttribution("m", TOKS, 5, " sat", "12", 0.5, heads.sum(1), heads, np.array([1.0, -0.25]),
                                  0.125, 1.525, 0.3, False)


def _lens_result():
    S, T, K = 4, 3, 2
    rank = np.array([[9, 5, 3], [40, 2, 2], [1, 1, 1], [1, 1, 1]])
    prob = np.linspace(0.1, 0.9, S * T, dtype=np.float32).reshape(S, T)
    return LensResult(
        model="m", method="final-norm", masked_lm=False, tokens=("<bos>", "12", " of"), input_ids=np.array([2, 0, 3]),
        layers=tuple(range(S)), top_ids=np.zeros((S, T, K), dtype=np.int64), top_probs=np.stack([prob, prob / 2], -1),
        top_logits=np.ones((S, T, K), np.float32), zscore=np.zeros((S, T), np.float32),
        target=LensTarget("12", np.array([1, 1, 1]), ("12",) * 3, np.zeros((S, T), np.float32), prob,
                          np.ones((S, T), np.float32), rank),
        next_zscore=None, mask_positions=(), token_text={0: "12", 1: "#3"})


def _dist():
    rng = np.random.default_rng(0)
    acc = DistAccumulator(4, 6, bins=25, expected_tokens=60, scatter_points=50)
    for b in range(3):
        acc.add((rng.standard_normal((4, 20, 6)) * 3).astype(np.float32), np.full(20, b), np.arange(1, 21))
    return acc.result(model="tiny", site="resid", layers=[0, 1, 2, 3], n_sequences=3, exclude_first=True,
                      sample="synthetic")


def _writes():
    rows = [pd.DataFrame({"variant": v, "direction": d, "rank": [1, 2], "token": ["12", "\n"], "token_id": [3, 4],
                          "value": [s * 2.0, s * 1.0]})
            for v in ("raw", "normed") for d, s in (("promotes", 1), ("suppresses", -1))]
    return NeuronWrites("m", "mlp", 1, 7, 2.5, pd.concat(rows, ignore_index=True), "note")


def _prompt():
    return PromptActivations("m", "mlp", 1, 3, TOKS, np.array([0, 1, -2, 0.5, 0, 4], np.float32),
                             np.tile(np.array([1730, 12, 345]), (6, 1)), np.tile(np.array([5, 4, 3], np.float32), (6, 1)))


def _grid():
    return SimpleNamespace(grid="heads", direction="denoise", layers=(0, 1), columns=(0, 1, 2),
                           values=np.arange(6.0).reshape(2, 3), layer_label=str, column_label=lambda c: f"H{c}")


def _attr():
    prep = SimpleNamespace(positions=(0, 1, 2), position_label=lambda p: ["1", " 2", "3"][p])
    top = pd.DataFrame({"layer": [0, 0, 1], "neuron": [1730, 12, 345], "estimate": [0.5, -0.2, 0.1]})
    mats = {"resid": np.ones((3, 3)), "attn_out": np.ones((2, 3)), "mlp_out": np.ones((2, 3)), "head": np.ones((2, 4))}
    return SimpleNamespace(resid=np.ones((3, 3)), prep=prep, top_neurons=lambda n: top, matrix=mats.__getitem__)


def _flow_graph():
    from interp_core.flow import FlowContributions, flow_graph

    rng = np.random.default_rng(1)
    n, t, h = 3, 5, 2
    attn = rng.random((n, t, t, h)) * np.tril(np.ones((t, t)))[None, :, :, None]
    resid = rng.random((n, t))
    tot = attn.sum((2, 3)) + resid
    c = FlowContributions("hand", ("a", "12", "a", "<c>", "d"), (attn / tot[..., None, None]).astype(np.float32),
                          (resid / tot).astype(np.float32), rng.random((n, t)).astype(np.float32),
                          np.zeros((n, t), np.float32), ("global",) * n, (None,) * n, 1, "nothing frozen")
    return flow_graph(c, token=-1, threshold=0.05)


def _steer_sweep():
    import torch

    from interp_core.ablation.directions import Direction
    from interp_core.ablation.steer import Steer
    from interp_core.ablation.steer_results import Continuation, SteerPoint, SteerSweep

    pts = tuple(SteerPoint(a, abs(a), _side(("x", 0.1)), (0.1 + i / 10, 0.5), Continuation(("a",), -1.0 - i), None)
                for i, a in enumerate((-1.0, 0.0, 1.0)))
    return SteerSweep(Steer(alpha_unit="norm"), Direction(torch.ones(2), "vector", "v"), "m", ("a",), 0, "resid.0",
                      2.0, (" in", "12"), _side(("x", 0.1)), (0.1, 0.5), Continuation(("a",), -1.0), pts)


def _sweep_frame():
    return _frame(layer=[0, 0, 1, 1], head=[0, 1, 0, 1], kl=[1.0, 2.0, 3.0, 4.0], target_prob_delta=[-.1, -.2, -.3, -.4])


def _params():
    return pd.DataFrame([("embed", -1, "embedding", 4), ("0", 0, "attention", 1), ("0", 0, "MLP", 2),
                         ("head", 1, "norms", 5)], columns=["position", "layer", "part", "params"])


FIGURES = {
    "ablation.topk_figure": lambda: ablation.topk_figure(
        Comparison(5, " of", _side((".", 0.7), ("12", 0.1)), _side((" the", 0.4), ("#3", 0.2)), 1.25)),
    "ablation.layer_sweep_figure": lambda: ablation.layer_sweep_figure(_frame(layer=[0, 1], kl=[0.5, 0.7])),
    "ablation.head_sweep_figure": lambda: ablation.head_sweep_figure(_sweep_frame()),
    "ablation.scale_sweep_figure": lambda: ablation.scale_sweep_figure(
        _frame(layer=[2, 2], scale=[0.0, 1.0], kl=[1.0, 0.0], target_prob_ablated=[0.1, 0.7])),
    "ablation.self_repair_figure": lambda: ablation.self_repair_figure(SelfRepair(" Paris", 10.0, 6.0, 9.0)),
    "clickable.with_click_cells": lambda: clickable.with_click_cells(
        go.Figure(go.Heatmap(z=[[1, 2], [3, 4]], x=["0: a", "1"], y=["10", "11"]))),
    "components.pattern_figure": lambda: components.pattern_figure(_patterns(), 1, 0),
    "components.pattern_grid_figure": lambda: components.pattern_grid_figure(_patterns()),
    "components.head_map_figure": lambda: components.head_map_figure(_patterns(), "entropy", selected=(1, 2)),
    "components.dla_waterfall_figure": lambda: components.dla_waterfall_figure(_dla()),
    "components.dla_heads_figure": lambda: components.dla_heads_figure(_dla(), selected=(1, 0)),
    "components.writes_figure": lambda: components.writes_figure(_writes(), "raw"),
    "components.prompt_tokens_figure": lambda: components.prompt_tokens_figure(_prompt(), selected=2),
    "components.top_neurons_figure": lambda: components.top_neurons_figure(_prompt(), 2),
    "distributions.histogram_figure": lambda: distributions.histogram_figure(_dist(), "grid"),
    "distributions.scatter_figure": lambda: distributions.scatter_figure(_dist(), "position"),
    "distributions.matrix_figure": lambda: distributions.matrix_figure(_dist(), "r2"),
    "distributions.spread_figure": lambda: distributions.spread_figure(_dist()),
    "flow.flow_figure": lambda: flow.flow_figure(_flow_graph()),
    "flow.heads_figure": lambda: flow.heads_figure(np.array([0.25, 0.75]), 1),
    "steer.steer_sweep_figure": lambda: steer.steer_sweep_figure(_steer_sweep(), picked=1),
    "steer.steer_topk_figure": lambda: steer.steer_topk_figure(SimpleNamespace(
        clean=_side(("12", 0.5), (" the", 0.2)), steered=_side((".", 0.4), ("#3", 0.1)))),
    "lens.lens_heatmap": lambda: lens.lens_heatmap(_lens_result()),
    "lens.clickable_lens_heatmap": lambda: lens.clickable_lens_heatmap(_lens_result(), "zscore", 2, None, (1, 0)),
    "lens.trajectory_figure": lambda: lens.trajectory_figure(trajectory(_lens_result(), 0)),
    "lens.sweep_heatmap": lambda: lens.sweep_heatmap(LensSweep(
        "masked", "m", "full-head", ("<b>", "y"), (1, 2), (0, 1, 2), np.eye(3, 2, dtype=np.float32),
        minmax_per_column(np.eye(3, 2, dtype=np.float32)))),
    "model.parameters_figure": lambda: model.parameters_figure(_params()),
    "neurons.winners_figure": lambda: neurons.winners_figure(pd.DataFrame(
        {"token": ["12", " the"], "token_id": [9, 10], "count": [3, 1], "fraction": [0.75, 0.25]})),
    "neurons.layer_figure": lambda: neurons.layer_figure(pd.DataFrame(
        {"index": range(5), "max": np.arange(5.0), "mean": 0.0, "std": 1.0, "min": 0.0, "frac_active": 0.5})),
    "neurons.top_tokens_figure": lambda: neurons.top_tokens_figure(pd.DataFrame(
        {"token_id": [9, 9, 10], "token": ["12", "12", "#4"]})),
    "neurons.histogram_figure": lambda: neurons.histogram_figure(np.arange(10.0), threshold=0.0),
    "patching.cell_figure": lambda: patching.cell_figure(np.ones((2, 3)), ["emb", "1"], ["0: a", "1", "2"],
                                                         title="t", value_name="v", x_title="position"),
    "patching.grid_figure": lambda: patching.grid_figure(_grid()),
    "patching.attribution_figure": lambda: patching.attribution_figure(_attr(), "neuron"),
    "patching.estimate_exact_figure": lambda: patching.estimate_exact_figure(pd.DataFrame(
        {"estimate": [0.1, 0.2], "exact": [0.1, 0.3], "label": ["L0 H1", "12"]})),
}


def _figure_functions() -> set[str]:
    found = set()
    for info in pkgutil.iter_modules(plots_pkg.__path__):
        if info.name == "axes":
            continue
        mod = importlib.import_module(f"interp_core.plots.{info.name}")
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if fn.__module__ == mod.__name__ and not name.startswith("_") and "Figure" in str(
                    inspect.signature(fn).return_annotation):
                found.add(f"{info.name}.{name}")
    return found


def test_every_figure_is_covered():
    assert _figure_functions() == set(FIGURES)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_axes_with_string_labels_are_categorical(name):
    fig = FIGURES[name]()
    assert isinstance(fig, go.Figure)
    for key in text_axes(fig):
        assert fig.layout[key].type == "category", f"{name}: {key} holds labels but is {fig.layout[key].type!r}"


def test_log_count_panels_start_at_one_count():
    """Shared bins: a layer whose values fill one or two bins still shows bars from 1 count up."""
    acc = DistAccumulator(2, 4, bins=30, expected_tokens=2000)
    rng = np.random.default_rng(0)
    acts = np.stack([rng.normal(size=(2000, 4)) * 0.001, rng.normal(size=(2000, 4)) * 50]).astype(np.float32)
    acc.add(acts, np.zeros(2000, int), np.arange(2000))
    res = acc.result(model="m", site="resid", layers=[0, 1], n_sequences=1, exclude_first=True, sample="s")
    for shared in (True, False):
        fig = distributions.histogram_figure(res, "grid", shared=shared)
        for key in ("yaxis", "yaxis2"):
            lo, hi = fig.layout[key].range
            assert lo <= 0 and 10 ** hi >= np.nanmax(np.asarray(fig.data[0 if key == "yaxis" else 1].y, float))


def test_head_maps_have_ticks_only_at_their_layers_and_heads():
    for fig in (components.head_map_figure(_patterns()), components.dla_heads_figure(_dla())):
        ys = list(fig.layout.yaxis.tickvals)
        assert ys == [0, 1] and fig.layout.yaxis.range[0] == 1.5 and fig.layout.yaxis.range[1] == -0.5
        assert min(fig.layout.xaxis.tickvals) == 0 and fig.layout.xaxis.range[0] == -0.5


def test_waterfall_has_no_legend_and_tokens_read_alike():
    fig = components.dla_waterfall_figure(_dla())
    assert fig.layout.showlegend is False and fig.data[0].showlegend is False
    from interp_core.plots.labels import token_label, visible
    assert [token_label(t) for t in (".", " the", "\n", "", "\x0b", "<b>")] == [
        ".", "␣the", "⏎", "∅", "<0x0B>".replace("<", "&lt;").replace(">", "&gt;"), "&lt;b&gt;"]
    assert visible(" a\tb") == "␣a⇥b"
    top = ablation.topk_figure(Comparison(5, " of", _side((".", 0.7), (" the", 0.1)), _side((" the", 0.4),), 1.0))
    assert list(top.data[0].y) == ["1. .", "2. ␣the"]
