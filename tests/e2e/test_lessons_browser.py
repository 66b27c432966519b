"""The 📚 Lessons page in Chromium: it opens on the list; a lesson runs from its first step to its last with every
expectation ✓ on the embedded model; "open this in the full page" carries the view's inputs."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from e2e_helpers import open_app, wait_idle

from interp_core.lessons import load_lesson

LESSON = "logit-lens"  # six lens views: the lesson that runs fastest on a shared CPU


def _alerts(pg, kind: str) -> list[str]:
    els = pg.get_by_test_id(f"stAlertContent{kind}")
    return [els.nth(i).inner_text() for i in range(els.count())]


def test_lessons_page_opens_on_the_list(page, server):
    open_app(page, server, "lessons")
    page.get_by_role("heading", name="📚 Lessons").first.wait_for()
    page.get_by_text("4 · The logit lens").first.wait_for()
    assert page.get_by_role("button", name="Start").count() == 4
    page.get_by_text("Tiếng Việt").first.click()
    wait_idle(page)
    page.get_by_text("Can thiệp nhân quả").first.wait_for()
    assert parse_qs(urlparse(page.url).query).get("ls_lang") == ["vi"]


def test_a_lesson_runs_from_first_to_last_step_with_every_expectation_met(page, server):
    lesson = load_lesson("en", LESSON)
    open_app(page, server, "lessons", f"ls_lesson={LESSON}&ls_step=1")
    for number, step in enumerate(lesson.steps, start=1):
        page.get_by_text(f"Step {number} of {len(lesson.steps)}").first.wait_for(timeout=120_000)
        texts = [t for d in step.directives for t, _ in d.expects]
        if texts:  # wait for this step's own outcomes (the previous step's may still be on screen for a moment)
            shown = ("([ts]) => { const shown = Array.from(document.querySelectorAll("
                     "'[data-testid=stAlertContentSuccess], [data-testid=stAlertContentWarning]'))"
                     ".map(e => e.innerText); return ts.every(t => shown.some(s => s.includes(t))); }")
            waiting = "document.body.innerText.includes('Not started automatically')"
            page.wait_for_function(f"([ts]) => ({shown})([ts]) || {waiting}", arg=[texts], timeout=600_000)
            if page.get_by_text("Not started automatically").count():  # over the page-open budget: one click
                page.get_by_role("button", name="Run this view", exact=True).first.click()
                wait_idle(page, 600)
                page.wait_for_function(shown, arg=[texts], timeout=600_000)
            ok = [t for t in _alerts(page, "Success") if t.startswith("✓")]
            assert all(any(t in o for o in ok) for t in texts), (number, texts, ok, _alerts(page, "Warning"))
            assert not [t for t in _alerts(page, "Warning") if "disagrees" in t], _alerts(page, "Warning")
        assert parse_qs(urlparse(page.url).query).get("ls_step") == [str(number)]
        if number < len(lesson.steps):
            page.get_by_role("button", name="Next →").click()
            wait_idle(page)
    assert page.get_by_role("button", name="Next →").is_disabled()


def test_open_in_full_page_carries_the_inputs(page, server):
    lesson = load_lesson("en", LESSON)
    number = next(i for i, s in enumerate(lesson.steps, start=1)
                  if any(d.get("method") == "dot-product" for d in s.directives))
    open_app(page, server, "lessons", f"ls_lesson={LESSON}&ls_step={number}")
    link = page.get_by_role("link", name="Open this in the full page ↗").first
    link.wait_for(timeout=120_000)
    href = link.get_attribute("href") or ""
    q = {k: v[0] for k, v in parse_qs(urlparse(href).query).items()}
    assert q["ll_method"] == "dot-product" and q["ll_target"] == " Paris", href
    page.goto(href if href.startswith("http") else f"{server}/{href.lstrip('/')}")
    page.get_by_role("heading", name="Logit lens").first.wait_for(timeout=120_000)
    wait_idle(page)
    assert page.get_by_label("Prompt").first.input_value() == "The Eiffel Tower is located in the city of"
    shown = {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}
    assert shown.get("ll_method") == "dot-product" and shown.get("ll_target") == " Paris", page.url
