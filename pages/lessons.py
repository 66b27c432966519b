"""Lessons: the course's four experiments as guided steps, each view live on the loaded model through the
pages' own jobs, with the expected results checked beside it. The lesson, its language and the step are in
the URL (ls_lesson, ls_lang, ls_step)."""
import streamlit as st

from ui.frame import page_model, require_frame

require_frame()

st.title("📚 Lessons")

from interp_core.errors import UserError  # noqa: E402
from interp_core.lessons import LANGUAGES, check_lesson, lesson_names, load_lesson  # noqa: E402
from ui.sections.lesson import lesson_export, render_step  # noqa: E402
from ui.state import publish, seed, url_notices  # noqa: E402

seed("ls_lang", "en", choices=tuple(LANGUAGES))
st.sidebar.radio("Lesson language", tuple(LANGUAGES), format_func=LANGUAGES.get, key="ls_lang", horizontal=True)
lang = st.session_state["ls_lang"]
names = lesson_names(lang)
seed("ls_lesson", "", choices=("", *names))
seed("ls_step", 1, int, lo=1, hi=100)
url_notices()
publish("ls_lang", "ls_lesson")


def lesson_list() -> None:
    """The lessons in the chosen language, each with its Start button."""
    st.caption("Each lesson reproduces one experiment of the course behind Looking Glass on the loaded model. "
               "Every view runs live; the numbers the lesson expects are checked beside it.")
    for n in names:
        try:
            lesson = load_lesson(lang, n)
        except UserError as e:
            st.error(str(e))
            continue
        with st.container(border=True):
            st.markdown(f"**{lesson.title}** · {len(lesson.steps)} steps")
            if lesson.meta.get("summary"):
                st.caption(lesson.meta["summary"])
            st.button("Start", key=f"ls_open_{n}", on_click=lambda n=n: st.session_state.update(ls_lesson=n, ls_step=1))


def lesson_step(name: str) -> None:
    """One step of a lesson, with previous / next (returns early, never st.stop: the frame may still have a model
    to load below the page)."""
    try:
        lesson = load_lesson(lang, name)
    except UserError as e:
        st.error(str(e))
        return
    problems = check_lesson(lesson)
    if problems:
        st.error("This lesson cannot run: " + " ".join(problems))
        return
    n_steps = len(lesson.steps)
    st.session_state["ls_step"] = min(max(int(st.session_state["ls_step"]), 1), n_steps)
    publish("ls_step")
    number = int(st.session_state["ls_step"])
    step = lesson.steps[number - 1]

    st.button("← All lessons", key="ls_back", on_click=lambda: st.session_state.update(ls_lesson="", ls_step=1))
    st.header(lesson.title)
    if number == 1 and lesson.intro:
        st.markdown(lesson.intro)
    st.progress(number / n_steps, text=f"Step {number} of {n_steps}")
    st.subheader(step.title)

    lm = page_model(no_lm_head="{name} has no LM head; the lessons need one (pick gemma-3-270m).")
    render_step(lm, f"{lang}/{name}", step, number)

    prev, _, nxt = st.columns([1, 3, 1])
    prev.button("← Previous", key="ls_prev", disabled=number <= 1,
                on_click=lambda: st.session_state.update(ls_step=number - 1))
    nxt.button("Next →", key="ls_next", disabled=number >= n_steps,
               on_click=lambda: st.session_state.update(ls_step=number + 1))
    lesson_export(lesson, f"{lang}/{name}", key="ls_export")


if st.session_state["ls_lesson"]:
    lesson_step(st.session_state["ls_lesson"])
else:
    lesson_list()
    if st.session_state.get("lm") is None:  # a direct link on a fresh server runs this file without app.py's tail
        from ui.sidebar import load_pending

        load_pending()
