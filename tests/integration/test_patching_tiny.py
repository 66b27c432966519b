"""Activation patching on tiny random models of every family: exact identities, batched grids equal
one-at-a-time runs through the ablation playground, attribution = a finite-difference derivative."""
from dataclasses import replace

import numpy as np
import pytest

from interp_core import Site, UserError, load_model, make_spec
from interp_core.ablation import Ablation, run_ablation
from interp_core.patching import (Component, all_heads, attribute, exact_check, grid_components, patch_grid,
                                  prepare, run_components)
from interp_core.patching.metric import raw_metric
from ui.links import patch_values

CLEAN = "the white kitten had nothing to do with it"
CORRUPT = "the black kitten had nothing to do with it"
TARGET, FOIL = " the", " of"


def _texts(lm):
    m = " [MASK]" if lm.adapter.masked_lm else ""
    return CLEAN + m, CORRUPT + m


def _prep(lm, metric="logit_diff", **kw):
    c, k = _texts(lm)
    return prepare(lm, c, k, TARGET, FOIL, metric=metric, **kw)


def _every_cell(lm, prep):
    L, H = lm.adapter.n_layers, lm.adapter.n_heads
    comps = [c for g in ("resid", "attn_out", "mlp_out", "heads") for c in grid_components(lm, prep, g)[0]]
    return comps + [Component("neuron", l, None, n) for l in range(L) for n in (0, 7)] + [
        Component("head", 1, p, h) for p in prep.positions[:3] for h in range(H)]


def test_clean_into_clean_is_exactly_one(tiny):
    prep = _prep(tiny)
    same = replace(prep, corrupt=prep.clean, corrupt_pred=prep.clean_pred, offset=0)
    comps = _every_cell(tiny, prep)
    # every patch is detected as a no-op and given the unpatched value...
    assert np.all(run_components(tiny, same, comps) == 1.0)
    # ...and really running each one (alone, so the batch shape equals the unpatched run's) changes nothing
    ran = run_components(tiny, same, comps[::5], rows=1, skip_noops=False)
    assert np.all(ran == 1.0), ran


def test_final_resid_at_prediction_restores_clean_exactly(tiny):
    prep = _prep(tiny)
    L = tiny.adapter.n_layers
    comps = [Component("resid", L, prep.clean_pred), Component("resid", 1, 2), Component("head", 0, None, 1)]
    vals = run_components(tiny, prep, comps, skip_noops=False)  # batched with other patches
    assert vals[0] == 1.0
    prob = _prep(tiny, metric="prob")
    v = run_components(tiny, prob, comps[:1], skip_noops=False)
    assert v[0] == pytest.approx(prob.metric.clean_raw, abs=1e-7)
    grid = patch_grid(tiny, *_texts(tiny), TARGET, FOIL, grid="resid", prep=prep)
    assert grid.value(L, prep.clean_pred) == 1.0
    # the metric is read only at the prediction position: other final-resid cells stay at the corrupted value
    assert all(grid.value(L, p) == 0.0 for p in prep.positions if p != prep.clean_pred)


def _ab(lm, prompt, cf, ab, target):
    return run_ablation(lm, prompt, ab, target=target, counterfactual=cf, top_k=1).main.ablated


@pytest.mark.parametrize("grid", ["resid", "attn_out", "mlp_out", "heads"])
def test_grid_equals_one_at_a_time_ablation_runs(tiny, grid):
    clean, corrupt = _texts(tiny)
    prep = _prep(tiny)
    g = patch_grid(tiny, clean, corrupt, TARGET, FOIL, grid=grid, prep=prep)
    assert g.values.shape == (len(g.layers), len(g.columns))
    m = prep.metric
    rng = np.random.default_rng(0)
    cells = [(int(rng.choice(g.layers)), int(rng.choice(g.columns))) for _ in range(3)]
    for layer, col in cells:
        site = {"heads": "head"}.get(grid, grid)
        ab = Ablation(site, layer, "patch", heads=(col,) if grid == "heads" else (),
                      positions="all" if grid == "heads" else (col,))
        t = _ab(tiny, corrupt, clean, ab, TARGET)
        f = _ab(tiny, corrupt, clean, ab, FOIL)
        want = m.value(t.target_logit - f.target_logit)
        assert g.value(layer, col) == pytest.approx(want, abs=2e-4 / abs(m.clean_raw - m.corrupt_raw) + 1e-5)
    pg = patch_grid(tiny, clean, corrupt, TARGET, FOIL, grid=grid, metric="prob")
    for layer, col in cells:
        site = {"heads": "head"}.get(grid, grid)
        ab = Ablation(site, layer, "patch", heads=(col,) if grid == "heads" else (),
                      positions="all" if grid == "heads" else (col,))
        assert pg.value(layer, col) == pytest.approx(_ab(tiny, corrupt, clean, ab, TARGET).target_prob, abs=1e-6)


def test_grid_result_frame_dict_and_playground_link(tiny):
    g = patch_grid(tiny, *_texts(tiny), TARGET, FOIL, grid="mlp_out")
    f = g.frame()
    assert list(f.columns) == ["grid", "direction", "layer", "layer_label", "position", "token", "head", "value"]
    assert len(f) == g.values.size
    d = g.to_dict()
    assert d["provenance"]["clean"] == _texts(tiny)[0] and d["provenance"]["model_identity"].startswith(tiny.spec.name)
    assert d["provenance"]["metric"]["clean"] == 1.0 and d["provenance"]["metric"]["corrupt"] == 0.0
    q = patch_values(g.prep, g.component(1, 3), "denoise")
    assert q == {"ab_prompt": _texts(tiny)[1], "ab_cf": _texts(tiny)[0], "ab_site": "mlp_out", "ab_layer": "1",
                 "ab_method": "patch", "ab_target": TARGET, "ab_pos": "chosen", "ab_pos_list": "3"}


def _double(tiny_dirs, family):
    lm = load_model(make_spec(str(tiny_dirs[family]), device="cpu"))
    lm.model.double()
    return lm


# Gemma and Llama compute RMSNorm in float32 even in a float64 model, which limits the finite difference
FD_REL = {"gpt2": 1e-3, "gpt_neo": 1e-3, "bert": 1e-3, "gemma3": 3e-3, "llama": 3e-3}


@pytest.mark.parametrize("family", list(FD_REL))
def test_attribution_equals_finite_difference_derivative(tiny_dirs, family):
    lm = _double(tiny_dirs, family)
    clean, corrupt = _texts(lm)
    attr = attribute(lm, clean, corrupt, TARGET, FOIL)
    prep, m = attr.prep, attr.metric
    last = Site("resid", lm.adapter.n_layers)
    # per kind, the component with the largest estimate (a finite difference of a tiny effect is all rounding:
    # some families compute their norms in float32 even in a float64 model)
    comps = []
    for kind in ("head", "neuron", "resid", "attn_out", "mlp_out"):
        mat = np.abs(attr.matrix(kind))
        layer, col = np.unravel_index(int(mat.argmax()), mat.shape)
        comps.append(Component(kind, int(layer), None, int(col)) if kind in ("head", "neuron")
                     else Component(kind, int(layer), prep.positions[col]))
    acts = {}
    for enc, key in ((prep.clean, "clean"), (prep.corrupt, "corrupt")):
        acts[key] = lm.run(enc.input_ids, capture=[c.site for c in comps], need_logits=False).cache

    def metric_at(c, eps):
        def fn(x):
            d = (acts["corrupt"][c.site] - acts["clean"][c.site])[0]  # (T, *F); same length: offset 0
            pos = prep.positions if c.position is None else [c.position]
            x = x.clone()
            if c.index is None:
                x[0, pos] += eps * d[pos]
            else:
                x[0, pos, c.index] += eps * d[pos, c.index]
            return x
        r = lm.run(prep.clean.input_ids, capture=[last], interventions={c.site: fn}, need_logits=False)
        return float(m.value(raw_metric(lm, m, r.cache[last][:, prep.clean_pred]))[0])

    def central(c, h):
        return (metric_at(c, h) - metric_at(c, -h)) / (2 * h)

    for c in comps:  # Richardson-extrapolated central difference (error O(h^4)); some norms compute in float32
        h = 2e-2
        fd = (4 * central(c, h / 2) - central(c, h)) / 3
        est = attr.estimate(c)
        assert est == pytest.approx(fd, rel=FD_REL[family], abs=1e-7), (c, est, fd)


def test_attribution_result_and_exact_check(tiny):
    clean, corrupt = _texts(tiny)
    attr = attribute(tiny, clean, corrupt, TARGET, FOIL)
    L, H, M = tiny.adapter.n_layers, tiny.adapter.n_heads, tiny.adapter.d_mlp
    assert attr.heads.shape == (L, H) and attr.neurons.shape == (L, M) and attr.resid.shape == (L + 1, len(attr.prep.positions))
    assert attr.metric.clean == 1.0 and attr.metric.corrupt == 0.0
    assert len(attr.frame()) == (L + 1) * len(attr.prep.positions) + 2 * L * len(attr.prep.positions) + L * (H + M)
    assert len(attr.top_neurons(3)) == 3 * L
    ch = exact_check(tiny, attr, all_heads(tiny))
    assert len(ch.frame()) == L * H
    # the exact check is the "noise" patch: corrupted head into the clean run, minus the clean metric
    want = run_components(tiny, attr.prep, [Component("head", 1, None, 2)], direction="noise")[0] - 1.0
    assert ch.frame().set_index("label").loc["head 1.2", "exact"] == pytest.approx(want, abs=1e-9)
    assert -1.0 <= ch.correlation <= 1.0
    # gradients flowed only there: ordinary runs are back in inference mode, the weights still need no grad
    out = tiny.run(attr.prep.clean.input_ids, capture=[Site("resid", 1)], need_logits=False)
    assert out.cache[Site("resid", 1)].is_inference()
    assert not any(p.requires_grad for p in tiny.model.parameters())
    assert tiny.num_hooks() == 0


def test_lengths_alignment_and_budgets(tiny, monkeypatch):
    clean, corrupt = _texts(tiny)
    longer = "and " + corrupt
    with pytest.raises(UserError, match="align them from the end"):
        prepare(tiny, clean, longer, TARGET, FOIL)
    prep = prepare(tiny, clean, longer, TARGET, FOIL, align="end")
    assert prep.offset > 0 and len(prep.positions) == len(prep.clean.tokens)
    g = patch_grid(tiny, clean, longer, TARGET, FOIL, grid="resid", align="end")
    assert g.values.shape[1] == len(prep.positions)
    attribute(tiny, clean, longer, TARGET, FOIL, align="end")
    with pytest.raises(UserError, match="foil"):
        prepare(tiny, clean, corrupt, TARGET, None)
    with pytest.raises(UserError, match="same token"):
        prepare(tiny, clean, corrupt, TARGET, TARGET)
    with pytest.raises(UserError, match="nothing to restore"):
        prepare(tiny, clean, clean, TARGET, FOIL)
    monkeypatch.setenv("LOOKING_GLASS_MAX_PATCHING_TOKENS", "5")
    with pytest.raises(UserError, match="LOOKING_GLASS_MAX_PATCHING_TOKENS"):
        prepare(tiny, clean, corrupt, TARGET, FOIL)
    monkeypatch.delenv("LOOKING_GLASS_MAX_PATCHING_TOKENS")
    monkeypatch.setenv("LOOKING_GLASS_MAX_SWEEP_POINTS", "10")
    with pytest.raises(UserError, match="LOOKING_GLASS_MAX_SWEEP_POINTS"):
        patch_grid(tiny, clean, corrupt, TARGET, FOIL, grid="resid")
    assert tiny.num_hooks() == 0


def test_cli_json_equals_api(tiny_dirs, capsys):
    import json

    from interp_core.cli.main import main

    lm = load_model(make_spec(str(tiny_dirs["llama"]), device="cpu"))
    clean, corrupt = _texts(lm)
    argv = ["patch", "--model", str(tiny_dirs["llama"]), "--device", "cpu", "--clean", clean, "--corrupt", corrupt,
            "--target", TARGET, "--foil", FOIL, "--grid", "attn_out"]
    assert main([*argv, "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    api = patch_grid(lm, clean, corrupt, TARGET, FOIL, grid="attn_out")
    assert np.array_equal(np.array(cli["values"]), api.values)
    assert cli["provenance"]["corrupt"] == corrupt and cli["n_runs"] == api.values.size
    assert main(argv[:-2] + ["--grid", "attribution", "--check-heads"]) == 0
    assert "correlation(estimate, exact)" in capsys.readouterr().out
    assert main(argv[:-2] + ["--grid", "heads", "--check-heads"]) == 1  # one clear error
    assert "--check-heads goes with --grid attribution" in capsys.readouterr().err
