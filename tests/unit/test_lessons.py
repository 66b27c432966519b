"""Lessons as data: parsing, validation (one sentence naming the line), hostile lessons, the expectation grammar
and its checks against result dictionaries, and the shipped lessons (what `lesson check` runs in CI)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from interp_core.errors import UserError
from interp_core.lessons import (
    LANGUAGES,
    check_directive,
    check_lesson,
    lesson_names,
    lesson_path,
    measure,
    parse_expectation,
    parse_lesson,
)
from interp_core.lessons.expect import ExpectError, check_fits

ROOT = Path(__file__).resolve().parents[2]

GOOD = """---
title: A lesson
---
Intro text.

## First step
Some text.

```view
page: ablation
prompt: The Eiffel Tower is located in the city of
target: ' Paris'
site: mlp_out
layer: 3
expect: p(' Paris') drops below 0.05
```

More text after the view.

## Second step
```python
print("a code block is just text")
```
"""


def _problems(body: str) -> list[str]:
    return check_lesson(parse_lesson("---\ntitle: T\n---\n## S\n" + body))


def _view(body: str) -> str:
    return "```view\n" + body.strip("\n") + "\n```\n"


def test_parse_steps_text_and_views():
    lesson = parse_lesson(GOOD)
    assert lesson.title == "A lesson" and lesson.intro == "Intro text."
    assert [s.title for s in lesson.steps] == ["First step", "Second step"]
    first = lesson.steps[0]
    assert isinstance(first.parts[0], str) and isinstance(first.parts[2], str)
    (d,) = first.directives
    assert d.get("target") == "' Paris'" and d.line == 9 and d.line_of("layer") == 14
    assert d.expects == (("p(' Paris') drops below 0.05", 15),)
    assert "print(" in lesson.steps[1].parts[0]  # other fenced blocks stay Markdown, never run
    assert check_lesson(lesson) == []


def test_view_values_are_typed_and_carry_the_full_pages_url_keys():
    v = check_directive(parse_lesson(GOOD).steps[0].directives[0])
    assert v.values["target"] == " Paris" and v.values["layer"] == 3
    assert v.url_params() == {"ab_prompt": "The Eiffel Tower is located in the city of", "ab_target": " Paris",
                              "ab_site": "mlp_out", "ab_layer": "3", "ab_tab": "Compare clean vs ablated"}


@pytest.mark.parametrize(("body", "needle"), [
    (_view("page: ablatio"), "Line 6: there is no page 'ablatio'"),
    (_view("prompt: x"), "Line 5: a view needs 'page:'"),
    (_view("page: ablation\nview: heatmap"), "Line 7: the ablation page has no view 'heatmap'"),
    (_view("page: ablation\nprompt: x\nsite: mlp_outt\nlayer: 1"), "Line 8: 'site' is one of"),
    (_view("page: ablation\nprompt: x\nsite: mlp_out\nlayer: 1\ncolour: red"), "Line 10: a compare view has no field 'colour'"),
    (_view("page: ablation\nprompt: x\nsite: mlp_out"), "needs 'layer:'"),
    (_view("page: ablation\nprompt: x\nsite: mlp_out\nlayer: three"), "Line 9: 'layer' is an integer"),
    (_view("page: logit_lens\nprompt: x\ntarget: ' a'\nexpect: p(' b') at layer 3 above 0.1"),
     "Line 9: this view tracks the target ' a', not ' b'"),
    (_view("page: logit_lens\nprompt: x\ntarget: ' a'\nexpect: p(' a') above 0.1"), "needs 'at layer N'"),
    (_view("page: logit_lens\nprompt: x\ntarget: ' a'\nexpect: __import__('os') is 1"), "Line 9: "),
    (_view("page: ablation\nprompt: x\nsite: mlp_out\nlayer: 1\nexpect: kl drops below 1"), "compares a before"),
    (_view("page: neuron_explorer\nsite: mlp\nlayer: 1\ndim: 2\ncorpus: /etc/passwd"), "built-in one"),
    (_view("page: neuron_explorer\nsite: mlp\nlayer: 1\ndim: 2\ncorpus: builtin:../../etc/passwd"), "built-in one"),
    (_view("page: neuron_explorer\nsite: mlp\nlayer: 1\ndim: 2\nsamples: 100000\nbatch: 1024\nseq_len: 8192"),
     "LOOKING_GLASS_MAX_SEED_TOKENS"),
    (_view("page: distributions\ntokens: 20000000"), "'tokens' must be between"),
    (_view("page: ablation\nprompt: x\nsite: mlp_out\nlayer: 1\ngenerate: 65"), "'generate' must be between"),
    (_view("page: ablation\nprompt: " + "x" * 3000 + "\nsite: mlp_out\nlayer: 1"), "at most 2,000"),
    (_view("page: ablation\nprompt: x\nprompt: y\nsite: mlp_out\nlayer: 1"), "given twice"),
    (_view("page: ablation\nprompt: x\nsite: mlp_out\nlayer: 1\nmethod: patch"), "needs 'counterfactual:'"),
    (_view("page: ablation\nsite: mlp_out\nlayer: 1\nthis is not a field line"), "a view takes 'field: value'"),
    ("```view\npage: ablation\n", "never closed"),
])
def test_bad_views_get_one_sentence_naming_the_line(body, needle):
    problems = _problems(body)
    assert problems and any(needle in p for p in problems), problems
    assert all(p.count(". ") <= 2 for p in problems)  # one sentence each (a list of choices may follow a colon)


def test_hostile_lessons():
    assert any("no steps" in p for p in check_lesson(parse_lesson("just text")))
    assert any("title" in p for p in check_lesson(parse_lesson("## S\ntext")))
    huge = "---\ntitle: T\n---\n" + "## S\n" * 50
    assert any("at most 40" in p for p in check_lesson(parse_lesson(huge)))
    many = "---\ntitle: T\n---\n## S\n" + "".join(_view(f"page: logit_lens\nprompt: {i}\ntarget: ' a'") for i in range(5))
    problems = check_lesson(parse_lesson(many))
    assert any("at most 4 per step" in p for p in problems) and any("already shows a lens view" in p for p in problems)
    assert any("over 200,000 bytes" in p for p in check_lesson(parse_lesson("---\ntitle: T\n---\n## S\n" + "x" * 300_000)))
    assert any("never closed" in p for p in check_lesson(parse_lesson("---\ntitle: T\n## S\n")))
    assert any("inside a step" in p for p in check_lesson(parse_lesson("---\ntitle: T\n---\n" + _view("page: ablation"))))


def test_lesson_names_cannot_leave_the_lesson_folder(tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "ok.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "secret.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "en" / "link.md").symlink_to(tmp_path / "secret.md")
    assert lesson_path("en", "ok", tmp_path).name == "ok.md"
    for lang, name in [("en", "../secret"), ("en", "link"), ("en", "/etc/passwd"), ("xx", "ok"), ("en", "OK.md"),
                       ("en", "missing")]:
        with pytest.raises(UserError):
            lesson_path(lang, name, tmp_path)
    assert lesson_names("en", tmp_path) == ["ok"]  # the symlink is not listed


@pytest.mark.parametrize("text", ["p(' Paris') drops below", "p(' Paris' above 1", "p(Paris) above 1", "kl around 3",
                                  "top is ' Paris", "kl between 1", "kl above nan", "cell(1, 2 above 3"])
def test_bad_expectations(text):
    with pytest.raises(ExpectError):
        e = parse_expectation(text)
        check_fits(e, "compare", ("p", "rank", "top", "kl", "repair", "generation"), " Paris")


COMPARE = {"clean": {"top": [{"token": " Paris"}], "target_prob": 0.76, "target_rank": 1, "generation": [" Paris", ","]},
           "ablated": {"top": [{"token": "."}], "target_prob": 0.007, "target_rank": 13, "generation": [".", " It"]},
           "kl": 4.5, "ratio": 0.2}


@pytest.mark.parametrize(("text", "ok"), [
    ("p(' Paris') drops below 0.05", True), ("p(' Paris') drops below 0.001", False),
    ("p(' Paris') stays above 0.5", False), ("p(' Paris') rises above 0.5", False), ("rank(' Paris') above 10", True),
    ("top is '.'", True), ("top is not ' Paris'", True), ("generation starts with '. It'", True),
    ("kl between 4 and 5", True), ("kl below 1", False), ("repair between 0 and 0.5", True),
])
def test_compare_expectations_read_the_result(text, ok):
    o = measure(parse_expectation(text), "compare", COMPARE)
    assert o.ok is ok


def test_lens_snap_and_layers():
    r = {"layers": [0, 1, 2, 3], "top": [[[{"token": "a"}]], [[{"token": "b"}]], [[{"token": "P"}]], [[{"token": "P"}]]],
         "target": {"token": "P", "prob": [[0.0], [0.1], [0.6], [0.9]], "rank": [[9], [1], [2], [1]],
                    "zscore": [[0.1], [2.0], [5.0], [8.0]]}}
    assert measure(parse_expectation("snap('P') is 3"), "lens", r).ok  # rank 1 at layer 1 does not last
    assert measure(parse_expectation("top at layer 2 is 'P'"), "lens", r).ok
    assert measure(parse_expectation("z('P') at layer 1 below 3"), "lens", r).ok
    with pytest.raises(ExpectError):
        measure(parse_expectation("p('P') at layer 7 above 0"), "lens", r)


def test_sweep_patching_seed_and_distribution_readers():
    sw = {"sweep": "layers", "records": [{"layer": 0, "head": None, "scale": None, "kl": 0.1, "target_prob_delta": 0.1,
                                          "ablated": {"target_prob": 0.8}},
                                         {"layer": 1, "head": None, "scale": None, "kl": 2.0, "target_prob_delta": -0.7,
                                          "ablated": {"target_prob": 0.05}}]}
    assert measure(parse_expectation("worst layer is 1"), "sweep", sw).ok
    assert measure(parse_expectation("p(' P') at layer 0 above 0.5"), "sweep", sw).ok
    grid = {"layer_labels": ["emb", "1"], "column_labels": ["a", "b"], "values": [[0.0, 0.9], [0.1, 0.2]]}
    assert measure(parse_expectation("cell(emb, 1) above 0.5"), "patching", grid).ok
    seed = {"winners": [{"token": " Queen", "fraction": 0.6}, {"token": " sure", "fraction": 0.1}]}
    assert measure(parse_expectation("winner is ' Queen'"), "seed", seed).ok
    assert measure(parse_expectation("share(' sure') below 0.2"), "seed", seed).ok
    assert measure(parse_expectation("top_share above 0.5"), "seed", seed).ok
    dist = {"labels": ["emb", "1"], "stats": [{"std": 1.0}, {"std": 30.0}], "r2": [[1.0, 0.01], [0.01, 1.0]]}
    assert measure(parse_expectation("std at layer 1 above 10"), "distributions", dist).ok
    assert measure(parse_expectation("r2(emb, 1) below 0.05"), "distributions", dist).ok


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_shipped_lessons_are_valid_in_every_language(lang):
    names = lesson_names(lang)
    assert len(names) == 4, names
    from interp_core.lessons import load_lesson

    for n in names:
        lesson = load_lesson(lang, n)
        assert check_lesson(lesson) == [], (n, check_lesson(lesson))
        assert 8 <= len(lesson.steps) <= 15, (n, len(lesson.steps))
        text = " ".join(s.title + " ".join(str(p) for p in s.parts) for s in lesson.steps)
        assert "Exercise" in text or "Bài tập" in text, n


def test_both_languages_ship_the_same_views():
    """A Vietnamese lesson runs exactly the views (and expectations) of its English original."""
    for en, vi in zip(lesson_names("en"), lesson_names("vi")):
        from interp_core.lessons import load_lesson

        def views(lang, name):
            return [(d.fields, tuple(t for t, _ in d.expects)) for s in load_lesson(lang, name).steps for d in s.directives]

        assert views("en", en) == views("vi", vi), (en, vi)


def test_lesson_check_cli(tmp_path):
    shipped = sorted(str(p) for p in (ROOT / "assets" / "lessons").glob("*/*.md"))
    ok = subprocess.run([sys.executable, "-m", "interp_core", "lesson", "check", *shipped], cwd=ROOT,
                        capture_output=True, text=True, env={"LOOKING_GLASS_WORKER": "0", "PATH": "/usr/bin:/bin"})
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.count("ok  ") == len(shipped) == 8
    bad = tmp_path / "bad.md"
    bad.write_text("---\ntitle: T\n---\n## S\n```view\npage: lens\n```\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "interp_core", "lesson", "check", str(bad)], cwd=ROOT,
                         capture_output=True, text=True, env={"LOOKING_GLASS_WORKER": "0", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 1 and "Line 6: there is no page 'lens'" in out.stderr
