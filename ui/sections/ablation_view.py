"""The ablation playground's runs and views: the inputs that key a comparison or a sweep, their costs, and the
rendering of one clean-vs-ablated comparison and of a sweep (whose bars / cells open a single comparison).

The background warm-up (ui.warmup) builds the default comparison from the same `compare_inputs`, so a
page opened on the defaults finds it already computed."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from interp_core.ablation import (COMPONENTS, DEFAULT_SCALES, NEEDS_REFERENCE, ablation_from_text, check_ablation,
                                  parse_scales, run_ablation, sweep)
from interp_core.plots.ablation import (METRICS, head_sweep_figure, layer_sweep_figure, scale_sweep_figure,
                                        self_repair_figure, topk_figure)
from interp_core.engine.sites import CHOICES, n_site_layers
from interp_core.errors import UserError
from interp_core.plots.clickable import clicked_cell, with_click_cells

from .. import costs
from ..downloads import figure_download, json_download, table_downloads

EIFFEL = "The Eiffel Tower is located in the city of"


def defaults(lm) -> dict[str, Any]:
    """Every ab_* widget's default for this model (the page seeds from these; the warm-up runs them)."""
    masked = lm.info.masked_lm
    mask = getattr(lm.tokenizer, "mask_token", None) or "[MASK]"
    return {
        "ab_prompt": f"{EIFFEL} {mask}." if masked else EIFFEL, "ab_target": "paris" if masked else " Paris",
        "ab_site": "mlp_out", "ab_layer": min(3, CHOICES["mlp_out"].top_layer(lm.info.n_layers)), "ab_heads": "", "ab_index": "0",
        "ab_method": "zero", "ab_scale": 0.0, "ab_noise": 1.0, "ab_pos": "all", "ab_pos_list": "-1",
        "ab_cf": "The Colosseum is located in the city of" + (f" {mask}." if masked else ""),
        "ab_ref_self": False, "ab_budget": 2000, "ab_gen": 0 if masked else 10, "ab_topk": 10, "ab_repair": False,
        "ab_sweep": "layers", "ab_metric": "target_prob_delta", "ab_scales": ",".join(f"{s:g}" for s in DEFAULT_SCALES),
    }


def _where(lm, v: Mapping[str, Any], ref_sha: str | None) -> dict[str, Any]:
    """The inputs that define the intervention itself (shared by a comparison and a sweep)."""
    site, method, pos = v["ab_site"], v["ab_method"], v["ab_pos"]
    out = {"model": repr(lm.spec), "prompt": v["ab_prompt"], "target": v["ab_target"] or None, "site": site,
           "layer": None if site == "embed" else int(v["ab_layer"]), "method": method, "pos": pos}
    if site == "head":
        out["heads"] = v["ab_heads"]
    if site == "neuron":
        out["index"] = v["ab_index"]
    if method == "scale":
        out["scale"] = float(v["ab_scale"])
    if method == "noise":
        out["noise"] = float(v["ab_noise"])
    if pos == "chosen":
        out["pos_list"] = v["ab_pos_list"]
    if method in NEEDS_REFERENCE:
        out["reference"] = ref_sha
        out["budget"] = int(v["ab_budget"])
    if method == "patch":
        out["counterfactual"] = v["ab_cf"]
    return out


def compare_inputs(lm, v: Mapping[str, Any], ref_sha: str | None = None) -> dict[str, Any]:
    """Every input a comparison depends on (its result key)."""
    masked = lm.info.masked_lm
    return {**_where(lm, v, ref_sha), "generate": 0 if masked else int(v["ab_gen"]), "top_k": int(v["ab_topk"]),
            "self_repair": bool(v["ab_repair"]) and not masked and v["ab_site"] in COMPONENTS}


def sweep_inputs(lm, v: Mapping[str, Any], ref_sha: str | None = None) -> dict[str, Any]:
    kind = v["ab_sweep"]
    return {**_where(lm, v, ref_sha), "kind": kind, "scales": v["ab_scales"] if kind == "scale" else None}


def _ablation(inp: Mapping[str, Any]):
    pos = inp["pos"] if inp["pos"] != "chosen" else inp["pos_list"]
    return ablation_from_text(inp["site"], inp["layer"], inp["method"], heads=inp.get("heads", ""),
                              indices=inp.get("index", ""), scale=inp.get("scale", 0.0),
                              noise_std=inp.get("noise", 1.0), positions=pos)


def _common(inp: Mapping[str, Any], reference) -> dict[str, Any]:
    return dict(target=inp["target"], reference=reference, counterfactual=inp.get("counterfactual"),
                budget=int(inp.get("budget", 2000)))


def validate(lm, inp: Mapping[str, Any]) -> None:
    """The cheap checks (lists parse, layer / heads / neurons exist), so bad input is reported before any
    estimate or run."""
    if inp["method"] in NEEDS_REFERENCE and inp.get("reference") is None:
        raise UserError(f"The {inp['method']} ablation needs a reference corpus (for its statistics); pick one "
                        "that loads, or use the prompt itself.")
    check_ablation(lm, _ablation(inp))
    if inp.get("kind") == "scale":
        parse_scales(inp["scales"] or "")


def compute_compare(lm, inp: Mapping[str, Any], reference=None, progress=None):
    return run_ablation(lm, inp["prompt"], _ablation(inp), top_k=inp["top_k"], generate=inp["generate"],
                        self_repair=inp["self_repair"], progress=progress, **_common(inp, reference))


def compute_sweep(lm, inp: Mapping[str, Any], reference=None, progress=None):
    scales = parse_scales(inp["scales"]) if inp["kind"] == "scale" else DEFAULT_SCALES
    return sweep(lm, inp["prompt"], _ablation(inp), inp["kind"], scales=scales, progress=progress,
                 **_common(inp, reference))


def _n_tokens(lm, prompt: str) -> int:
    try:
        return max(1, len(lm.encode(prompt).tokens))
    except Exception:  # noqa: BLE001 - an estimate only; the run itself reports bad input
        return max(1, len(prompt) // 4)


def compare_cost(lm, inp: Mapping[str, Any]) -> tuple[str, str, float]:
    """(model, kind, FLOPs) of a comparison: clean + ablated forward passes, each greedy step re-running the
    sequence (a KV-cached generation only makes the measured rate higher), self-repair two more passes."""
    n, g = _n_tokens(lm, inp["prompt"]), int(inp["generate"])
    tokens = 2 * sum(n + i for i in range(g + 1)) + (2 * n if inp["self_repair"] else 0)
    if inp["method"] == "patch":
        tokens += n
    return repr(lm.spec), "ablation", costs.forward_flops(lm.info, tokens, logit_rows=2 * (g + 1))


def sweep_cost(lm, inp: Mapping[str, Any]) -> tuple[str, str, float]:
    n, info = _n_tokens(lm, inp["prompt"]), lm.info
    try:
        points = {"layers": n_site_layers("resid", info.n_layers), "heads": info.n_layers * info.n_heads,
                  "scale": len(parse_scales(inp["scales"] or "0"))}[inp["kind"]]
    except Exception:  # noqa: BLE001 - bad scale text: the run reports it
        points = 1
    return repr(lm.spec), "ablation_sweep", costs.forward_flops(lm.info, n * (points + 1), logit_rows=points + 1)


def render_comparison(lm, res, key: str = "ab") -> None:
    """One clean-vs-ablated comparison: metrics, top-k bars, generations, alignment, self-repair, downloads."""
    st.caption(f"{res.ablation.label()} · hooks left on the model: {lm.num_hooks()}"
               + (f" · reference: {res.reference}" if res.reference else ""))
    comp = res.main
    if len(res.comparisons) > 1:
        pick = st.selectbox("[MASK] position", [c.position for c in res.comparisons], key=f"{key}_mask_pick")
        comp = next(c for c in res.comparisons if c.position == pick)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("KL(clean ‖ ablated)", f"{comp.kl:.4f} nats")
    if comp.clean.target_prob is not None:
        st.text(f"Target {res.target!r} at position {comp.position} (after {comp.token!r}):")
        m2.metric("p(target) ablated", f"{comp.ablated.target_prob:.4f}", f"{comp.target_prob_delta:+.4f}")
        m3.metric("logit(target) ablated", f"{comp.ablated.target_logit:.3f}", f"{comp.target_logit_delta:+.3f}")
        m4.metric("rank ablated (clean)", f"{comp.ablated.target_rank}", f"{comp.clean.target_rank} clean",
                  delta_color="off", delta_arrow="off")
    fig = topk_figure(comp)
    st.plotly_chart(fig, key=f"{key}_topk_fig")
    figure_download(fig, "ablation_topk", f"{key}_topk_fig_dl")
    st.dataframe(comp.frame(), hide_index=True)
    table_downloads(comp.frame(), "ablation_topk", f"{key}_topk_tbl")
    if res.generation_clean:
        st.subheader("Greedy generation")
        g1, g2 = st.columns(2)
        g1.text("clean:   " + repr("".join(res.generation_clean)))
        g2.text("ablated: " + repr("".join(res.generation_ablated)))
        if res.first_divergence is None:
            st.success("Identical generations: the ablation did not change the greedy continuation.")
        else:
            st.warning(f"First divergence at generated token {res.first_divergence} (marked below).")
        gen = res.generation_frame()
        gen["mark"] = gen["first_divergence"].map(lambda x: "◀ first divergence" if x else "")
        st.dataframe(gen.drop(columns=["first_divergence"]), hide_index=True)
        table_downloads(gen, "ablation_generation", f"{key}_gen_tbl")
    if res.alignment:
        st.subheader("Patch alignment (from the end)")
        al = pd.DataFrame(list(res.alignment), columns=["position", "token", "cf_position", "cf_token"])
        st.dataframe(al, hide_index=True)
        table_downloads(al, "ablation_alignment", f"{key}_align_tbl")
    if res.self_repair is not None:
        sr = res.self_repair
        st.subheader("Self-repair")
        r1, r2, r3 = st.columns(3)
        r1.metric("direct effect (Δ logit)", f"{sr.direct_effect:+.3f}")
        r2.metric("total effect (Δ logit)", f"{sr.total_effect:+.3f}")
        r3.metric("total / direct", "n/a" if sr.ratio is None else f"{sr.ratio:.2f}")
        st.caption("Direct: the component's change is removed from the final residual stream only, everything "
                   "downstream as in the clean run. Total: everything downstream re-runs. A ratio well below 1 "
                   "means later layers compensated — the network rerouted around the cut, like a city grid "
                   "around an opened bridge; above 1, later layers amplified the damage.")
        fig = self_repair_figure(sr)
        st.plotly_chart(fig, key=f"{key}_repair_fig")
        figure_download(fig, "ablation_self_repair", f"{key}_repair_fig_dl")
    json_download(res.to_dict(), "ablation_result", f"{key}_json", "⬇ Full result (JSON)")


def sweep_figure(sw, metric: str):
    """The sweep's chart; a head sweep's cells get a clickable overlay (trace 1)."""
    frame = sw.frame()
    plot = {"layers": layer_sweep_figure, "heads": head_sweep_figure, "scale": scale_sweep_figure}[sw.kind]
    fig = plot(frame, metric, title=f"{METRICS.get(metric, metric)} — {sw.kind} sweep (click a "
                                    f"{'cell' if sw.kind == 'heads' else 'bar' if sw.kind == 'layers' else 'point'})")
    if sw.kind == "heads":
        with_click_cells(fig)
    return fig


def sweep_pick(sw, event) -> dict[str, Any] | None:
    """The widget values of the single intervention a click on the sweep chart points at, or None."""
    frame = sw.frame()
    if sw.kind == "heads":
        heads = sorted(frame["head"].dropna().unique())
        cell = clicked_cell(event, len(heads), curve=1)
        if cell is None:
            return None
        layers = sorted(frame["layer"].dropna().unique())
        return {"ab_site": "head", "ab_layer": int(layers[cell[0]]), "ab_heads": str(int(heads[cell[1]]))}
    points = ((event or {}).get("selection") or {}).get("points") or []
    if not points:
        return None
    x = points[0].get("x")
    if sw.kind == "layers":
        return {"ab_layer": int(round(float(x)))}
    return {"ab_method": "scale", "ab_scale": float(x)}


def _encode_pick(kind: str, pick: Mapping[str, Any]) -> str:
    if kind == "heads":
        return f"L{pick['ab_layer']}H{pick['ab_heads']}"
    if kind == "layers":
        return f"L{pick['ab_layer']}"
    return f"S{pick['ab_scale']:g}"


def _decode_pick(kind: str, raw: str) -> dict[str, Any] | None:
    """'L3' (layers), 'L3H2' (heads), 'S0.5' (scale) -> widget values; None when it does not fit `kind`."""
    import re

    raw = (raw or "").strip()
    if kind == "layers" and (m := re.fullmatch(r"L(\d{1,3})", raw)):
        return {"ab_layer": int(m[1])}
    if kind == "heads" and (m := re.fullmatch(r"L(\d{1,3})H(\d{1,3})", raw)):
        return {"ab_site": "head", "ab_layer": int(m[1]), "ab_heads": m[2]}
    if kind == "scale" and (m := re.fullmatch(r"S(-?\d{1,4}(?:\.\d{1,6})?)", raw)):
        return {"ab_method": "scale", "ab_scale": float(m[1])}
    return None


def _open_in_compare(values: Mapping[str, Any]) -> None:
    for k, v in values.items():
        st.session_state[k] = v
    st.session_state["ab_tab"] = "Compare clean vs ablated"


def render_sweep_pick(lm, sw, reference, ref_sha: str | None) -> None:
    """The single intervention a click on the sweep chart picked (kept in the URL as ab_pick): its full
    clean-vs-ablated comparison, and a button that opens it in the Compare tab."""
    if "ab_pick" not in st.session_state:
        st.session_state["ab_pick"] = st.query_params.get("ab_pick", "")
    event = st.session_state.get("ab_sweep_fig")
    pick = sweep_pick(sw, event)
    if pick is not None:
        mark = (sw.kind, repr(event))
        if st.session_state.get("_ab_pick_seen") != mark:  # a new click (the event stays in widget state)
            st.session_state["_ab_pick_seen"] = mark
            st.session_state["ab_pick"] = _encode_pick(sw.kind, pick)
    pick = _decode_pick(sw.kind, st.session_state["ab_pick"])
    if pick is None:
        st.query_params.pop("ab_pick", None)
        st.caption("Click a bar or cell to see that single intervention's full comparison here.")
        return
    st.query_params["ab_pick"] = st.session_state["ab_pick"]
    values = {k: st.session_state.get(k, v) for k, v in defaults(lm).items()}
    values.update(pick)
    if values["ab_site"] == "embed":
        return
    inp = compare_inputs(lm, values, ref_sha)
    st.subheader("The picked intervention: clean vs ablated")
    from ..errors import shown_errors
    from ..runner import run_keyed

    kept = None
    with shown_errors("Running the picked intervention"):
        kept = run_keyed("ab_pick", inp, lambda prog: compute_compare(lm, inp, reference, prog),
                         action="Running the picked intervention", button="Run this intervention", auto=True,
                         validate=lambda: validate(lm, inp),
                         cost=compare_cost(lm, inp), shared=True, show_stale=False)
    if kept is not None and not kept.stale:
        st.button("Open it in the Compare tab", key="ab_pick_open", on_click=_open_in_compare,
                  args=({k: values[k] for k in ("ab_site", "ab_layer", "ab_heads", "ab_method", "ab_scale")},))
        render_comparison(lm, kept.result, "ab_pickv")
