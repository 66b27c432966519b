"""The shipped lessons on the embedded Gemma 3 270M: every view runs through its page job (the same key the full
page builds) and every stated expectation holds, in every language."""
from __future__ import annotations

import pytest

from interp_core.lessons import LANGUAGES, check_directive, lesson_names, load_lesson, measure

pytestmark = pytest.mark.slow

LESSONS = [(lang, name) for lang in LANGUAGES for name in lesson_names(lang)]


@pytest.fixture(scope="module")
def results():
    return {}  # one computation per job key across the languages (the app's shared cache does the same)


@pytest.mark.parametrize(("lang", "name"), LESSONS)
def test_every_expectation_holds(gemma, results, lang, name):
    from interp_core.data import tokenize_corpus
    from ui.jobs.lessons import then_job, view_job, view_result

    lesson = load_lesson(lang, name)
    failed = []
    for step in lesson.steps:
        for d in step.directives:
            view = check_directive(d)
            job, key = view_job(gemma, view, lambda c: tokenize_corpus(gemma, c))
            ident = (job.slot, repr(sorted(key.inputs().items(), key=lambda kv: kv[0])), view.values.get("target"),
                     view.values.get("exclude_first"), view.values.get("bins"))
            if ident not in results:
                result = job.compute(gemma, key)
                then = then_job(view, key, result)  # the lens page's retarget, as the page runs it
                results[ident] = view_result(view, result if then is None else then[0].compute(gemma, then[1])).to_dict()
            for e in view.expects:
                o = measure(e, view.kind.name, results[ident])
                print(f"{lang}/{name}:{d.line} {'ok' if o.ok else 'DISAGREES'} {e.text} ({o.values_text()})")
                if not o.ok:
                    failed.append(f"line {d.line}: {e.text} (model: {o.values_text()})")
    assert not failed, failed
