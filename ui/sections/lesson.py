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
from ..board import base_url
from ..charts import chart, provenance

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from interp_core import LoadedModel
    from interp_core.lessons import Lesson, View
    from interp_core.report import Pin, Provenance

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


def lesson_pins(lesson: Lesson, seen: dict[tuple[int, int], ShownView], prov: Provenance) -> list[Pin]:
    """The lesson's report: each view this session showed, in step order, with the step's text (once) and its
    expectations as they were checked (✓ or the model's disagreement)."""
    from interp_core.report import Pin

    out: list[Pin] = []
    for (number, i), sv in sorted(seen.items(), key=lambda kv: kv[0]):
        step = lesson.steps[number - 1]
        text = "\n\n".join(part for part in step.parts if isinstance(part, str)).strip()
        numbers = [(o.expectation.text, ("✓" if o.ok else f"✗ {DISAGREES}") + f" (model: {o.values_text()})")
                   for o in sv.outcomes]
        out.append(Pin.make(f"Step {number}. {step.title} — {TITLES[sv.view.kind.name]}", sv.view.kind.page,
                            sv.view.url_params(), _figure(sv.view, sv.result), prov, numbers=numbers,
                            note=text if i == 0 else ""))
    return out


def lesson_export(lesson: Lesson, lesson_id: str, *, key: str) -> None:
    """Download the lesson as one offline HTML report with the results this session (or its room) saw."""
    from interp_core.report import build_report

    seen = {(k[1], k[2]): sv for k, sv in st.session_state.get(SEEN, {}).items() if k[0] == lesson_id}
    steps = len({k[0] for k in seen})
    if not seen:
        st.caption("The lesson's report can be exported once a step has shown its views.")
        return
    prov, base = provenance(), base_url()
    title = f"{lesson.title} — Looking Glass lesson"
    intro = (lesson.intro or "").strip()
    st.download_button(f"⬇ Export this lesson as a report ({steps} of {len(lesson.steps)} steps seen)", key=key,
                       data=lambda: build_report(lesson_pins(lesson, seen, prov), title, intro=intro,
                                                 base_url=base).encode("utf-8"),
                       file_name=f"looking-glass-lesson-{lesson_id.replace('/', '-')}.html", mime="text/html",
                       help="One HTML file with every view you have seen in this lesson, its checks and the model's "
                            "fingerprint; the charts stay interactive and it opens offline.")
