"""`lesson check FILE…`: validate lessons without a browser or a model (pages, views, fields, budgets and the
form of every expectation); exit status 1 when any problem is found."""
from __future__ import annotations

from interp_core.errors import UserError


def add_arguments(p):
    p.add_argument("action", choices=("check",), help="check: validate lesson files")
    p.add_argument("files", nargs="+", metavar="FILE", help="lesson Markdown files")


def run(args) -> dict:
    from interp_core.lessons import check_lesson, read_lesson

    report = []
    for f in args.files:
        try:
            lesson = read_lesson(f)
            problems = check_lesson(lesson)
            report.append({"file": f, "title": lesson.title, "steps": len(lesson.steps),
                           "views": sum(len(s.directives) for s in lesson.steps), "problems": problems})
        except UserError as e:
            report.append({"file": f, "title": None, "steps": 0, "views": 0, "problems": [str(e)]})
    bad = [r for r in report if r["problems"]]
    if bad:
        raise UserError(" ".join(f"{r['file']}: {p}" for r in bad for p in r["problems"]))
    return {"lessons": report}


def to_text(result: dict) -> str:
    return "\n".join(f"ok  {r['file']}: {r['title']!r}, {r['steps']} steps, {r['views']} views"
                     for r in result["lessons"])
