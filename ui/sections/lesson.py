"""One lesson step: its Markdown, and each view run through the page's own job (the same key, so the same
cache), with its chart, its expectations checked live (✓ or "the model disagrees today") and a link that opens
the same view in the full page."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import streamlit as st

from interp_core.errors import UserError
from interp_core.lessons import Outcome, Step, check_directive, measure

from ..cache import cached_tokens
from ..errors import shown_errors
from ..jobs.lessons import then_job, view_job, view_result
from ..links import FRAME_KEYS, page_url
from ..runner import run_keyed
from ..charts import chart

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from interp_core import LoadedModel
    from interp_core.lessons import View

SEEN = "_lg_lesson_views"  # (lesson id, step, view) -> ShownView, for a lesson's report
TITLES = {"lens": "🔭 Logit lens", "compare": "✂️ Clean vs ablated", "sweep": "✂️ Sweep",
          "patching": "✂️ Activation patching grid", "seed": "🧠 Seed method", "distributions": "📊 Distributions"}
DISAGREES = "the model disagrees today"


@dataclass(frozen=True)
class ShownView:
    """What one view of a step showed: its inputs (the full page's URL values), result and checked expectations."""

    view: View
    url: str
    result: Any
    outcomes: tuple[Outcome, ...]


def _figure(view: View, result: Any) -> go.Figure:
    name = view.kind.name
    if name == "lens":
        from interp_core.plots.lens import lens_heatmap

        return lens_heatmap(result)
    if name == "compare":
        from interp_core.plots.ablation import topk_figure

        return topk_figure(result.main)
    if name == "sweep":
        from interp_core.plots.ablation import head_sweep_figure, layer_sweep_figure, scale_sweep_figure

        plot = {"layers": layer_sweep_figure, "heads": head_sweep_figure, "scale": scale_sweep_figure}[result.kind]
        return plot(result.frame(), "target_prob_ablated" if result.kind == "scale" else "target_prob_delta")
    if name == "patching":
        from interp_core.plots.patching import grid_figure

        return grid_figure(result)
    if name == "seed":
        from interp_core.plots.neurons import winners_figure

        return winners_figure(result.winners, title="Winning tokens")
    from interp_core.plots.distributions import histogram_figure

    return histogram_figure(result)


def outcome_line(o: Outcome) -> str:
    """One expectation as shown: ✓ or the model's disagreement, with the value(s) it gave."""
    mark = "✓" if o.ok else f"✗ {DISAGREES}"
    return f"{mark} — `{o.expectation.text}` (model: {o.values_text()})"


def render_view(lm: LoadedModel, view: View, key: str) -> ShownView | None:
    """Run one view through its page job and show it; None until it has a result."""
    frame = {k: st.query_params[k] for k in FRAME_KEYS if k in st.query_params}
    url = page_url(view.kind.page, {**view.url_params(), **frame})
    with st.container(border=True):
        head, link = st.columns([3, 1])
        head.markdown(f"**{TITLES[view.kind.name]}**")
        link.markdown(f"[Open this in the full page ↗]({url})")
        kept = None
        with shown_errors("Running this view"):
            job, jkey = view_job(lm, view, lambda c: cached_tokens(lm.spec, c.sha256, lm, c))
            kept = run_keyed(job, lm, jkey, action="Running this view", button="Run this view", auto=True,
                             show_stale=False)
            then = then_job(view, jkey, kept.result) if kept is not None and not kept.stale else None
            if then is not None:
                kept = run_keyed(then[0], lm, then[1], action="Tracking the target", auto=True, show_stale=False)
        if kept is None or kept.stale:
            return None
        result = view_result(view, kept.result)
        chart(_figure(view, result), key=f"{key}_fig")
        data = result.to_dict()
        outcomes = []
        for e in view.expects:
            try:
                o = measure(e, view.kind.name, data)
            except (UserError, ValueError) as err:
                st.warning(f"`{e.text}`: {err}.")
                continue
            outcomes.append(o)
            (st.success if o.ok else st.warning)(outcome_line(o))
    return ShownView(view, url, result, tuple(outcomes))


def render_step(lm: LoadedModel, lesson_id: str, step: Step, number: int) -> list[ShownView]:
    """Draw a step's text and views; what the views showed is also kept in the session (SEEN) for a report."""
    shown: list[ShownView] = []
    seen = st.session_state.setdefault(SEEN, {})
    i = 0
    for part in step.parts:
        if isinstance(part, str):
            st.markdown(part)
            continue
        view = check_directive(part)  # the lesson was checked when it loaded: this cannot fail
        sv = render_view(lm, view, key=f"ls_{number}_{i}")
        if sv is not None:
            shown.append(sv)
            seen[(lesson_id, number, i)] = sv
        i += 1
    return shown
