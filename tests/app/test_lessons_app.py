"""The 📚 Lessons page in AppTest on the embedded Gemma 3 270M: the list, a lesson's steps with next / previous and
the language switch, and — per view kind — that the full page opened from a view's "open this in the full page"
inputs computes the very same job key (so the same result) as the lesson."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from interp_core.lessons import check_directive, load_lesson, measure, parse_lesson
from interp_core.report import Provenance, build_report
from ui.sections.lesson import SEEN, lesson_pins

pytestmark = pytest.mark.slow

APP = str(Path(__file__).resolve().parents[2] / "app.py")
RUN_BUTTONS = ("ll_lens_run", "ab_run", "ab_sweep_run", "pt_grid_run", "ne_seed_run", "ad_run")


def _open(page: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=900)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def _press_all(at: AppTest) -> AppTest:
    """Press whichever run buttons the page shows (a run under the auto budget started by itself)."""
    for key in RUN_BUTTONS:
        try:
            button = at.button(key=key)
        except KeyError:
            continue
        at = button.click().run()
    assert not at.exception, at.exception
    return at


def _texts(at: AppTest) -> list[str]:
    return [e.value for e in [*at.success, *at.warning, *at.error, *at.info]]


def test_lessons_page_lists_the_lessons_and_switches_language():
    at = _open("pages/lessons.py")
    starts = [b for b in at.button if b.key and b.key.startswith("ls_open_")]
    assert [b.key for b in starts] == ["ls_open_activation-maximization", "ls_open_causal-interventions",
                                       "ls_open_hidden-state-distributions", "ls_open_logit-lens"]
    assert any("Causal interventions" in m.value for m in at.markdown)
    at.sidebar.radio(key="ls_lang").set_value("vi").run()
    assert any("Can thiệp nhân quả" in m.value for m in at.markdown)


def test_a_lesson_step_runs_checks_and_moves_on():
    at = _open("pages/lessons.py", {"ls_lesson": "logit-lens", "ls_step": "3"})
    at = _press_all(at)
    texts = _texts(at)
    assert any(t.startswith("✓") and "snap(' Paris') is 14" in t for t in texts), texts
    assert not any("disagrees" in t for t in texts), texts
    assert at.query_params["ls_step"] == ["3"] or at.query_params["ls_step"] == "3"
    exports = [e for e in at.get("download_button") if e.proto.label.startswith("⬇ Export this lesson")]
    assert exports and "(1 of " in exports[0].proto.label, [e.proto.label for e in at.get("download_button")]
    # the lesson's report: the views this session saw, with the step's text and each check as it was shown
    seen = {(k[1], k[2]): sv for k, sv in at.session_state[SEEN].items() if k[0] == "en/logit-lens"}
    html = build_report(lesson_pins(load_lesson("en", "logit-lens"), seen, Provenance("gemma-3-270m")), "Lesson")
    assert "Step 3." in html and "<td>✓ (model: 14" in html and "snap(&#x27; Paris&#x27;) is 14" in html, html[-3000:]
    assert html.count('class="lg-figure"') == len(seen) >= 1
    at = at.button(key="ls_next").click().run()
    assert at.session_state["ls_step"] == 4
    at = at.button(key="ls_prev").click().run()
    at = at.button(key="ls_prev").click().run()
    assert at.session_state["ls_step"] == 2
    links = [m.value for m in at.markdown if "Open this in the full page" in m.value]
    assert links and "logit_lens?ll_prompt=The+Eiffel+Tower" in links[0] and "ll_target=+Paris" in links[0]


def test_unknown_lesson_in_the_url_falls_back_to_the_list():
    at = _open("pages/lessons.py", {"ls_lesson": "../../etc/passwd"})
    assert any("Link adjusted" in w.value for w in at.warning)
    assert any(b.key == "ls_open_logit-lens" for b in at.button)


VIEWS = {
    "lens": "page: logit_lens\nprompt: The Eiffel Tower is located in the city of\ntarget: ' Paris'\n"
            "expect: rank(' Paris') at layer 12 above 1",
    "compare": "page: ablation\nprompt: The Eiffel Tower is located in the city of\ntarget: ' Paris'\nsite: mlp_out\n"
               "layer: 3\nmethod: scale\nscale: 0.5\nexpect: p(' Paris') drops below 0.6",
    "sweep": "page: ablation\nview: sweep\nprompt: The Eiffel Tower is\ntarget: ' located'\nsite: mlp_out\nlayer: 3\n"
             "sweep: scale\nscales: 0,1,2\nexpect: p(' located') at scale 2 above 0",
    "patching": "page: ablation\nview: patching\nclean: The Eiffel Tower is in\ncorrupt: The Colosseum is in\n"
                "target: ' Paris'\nfoil: ' Rome'\ngrid: mlp_out\nexpect: cell(3, 0) below 2",
    "seed": "page: neuron_explorer\nsite: mlp\nlayer: 1\ndim: 7\nsamples: 3\nbatch: 2\nseq_len: 16\n"
            "expect: top_share above 0",
    "distributions": "page: distributions\nprompt: Alice looked round eagerly.\nsite: mlp_out\nbins: 40\n"
                     "expect: std at layer 3 above 0",
}


@pytest.mark.parametrize("kind", list(VIEWS))
def test_the_full_page_computes_the_lessons_key(kind, gemma):
    """'Open this in the full page' carries the inputs: the page builds the same job key as the lesson (so the same
    cached result), and the lesson's expectation reads the same value from it."""
    from interp_core.data import tokenize_corpus
    from ui.jobs.lessons import then_job, view_job, view_result
    from ui.store import fingerprint

    lesson = parse_lesson(f"---\ntitle: T\n---\n## S\n```view\n{VIEWS[kind]}\n```\n")
    view = check_directive(lesson.steps[0].directives[0])
    assert view.kind.name == kind
    job, key = view_job(gemma, view, lambda c: tokenize_corpus(gemma, c))
    lesson_result = job.compute(gemma, key)
    then = then_job(view, key, lesson_result)
    if then is not None:  # a lens with a target: the page re-reads its kept lens for the target
        job, key = then
        lesson_result = job.compute(gemma, key)
    page = {"logit_lens": "pages/logit_lens.py", "ablation": "pages/ablation.py",
            "neuron_explorer": "pages/neuron_explorer.py", "distributions": "pages/distributions.py"}[view.kind.page]
    at = _press_all(_open(page, view.url_params()))
    store = at.session_state["_lg_results"]
    item = store.get(job.slot, fingerprint(key.inputs()))
    assert item is not None, (job.slot, key.inputs(), [k for k in store._items])
    page_value = measure(view.expects[0], kind, view_result(view, item[0]).to_dict())
    lesson_value = measure(view.expects[0], kind, view_result(view, lesson_result).to_dict())
    assert page_value.value == pytest.approx(lesson_value.value, rel=1e-5, abs=1e-6)
    assert page_value.before == pytest.approx(lesson_value.before, rel=1e-5, abs=1e-6) \
        if lesson_value.before is not None else page_value.before is None
