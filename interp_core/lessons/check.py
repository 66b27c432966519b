"""Validate a parsed lesson: every view names a known page, view and fields with values of the right kind,
within the pages' budgets, and every expectation fits its view. Each problem is one sentence naming its line."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interp_core.budgets import budgets
from interp_core.errors import UserError

from .document import Directive, Lesson, parse_lesson, unquote
from .expect import Expectation, ExpectError, check_fits, parse_expectation
from .vocabulary import PAGES, VIEWS, Field, ViewKind

MAX_TEXT = 2000  # characters in one text field (prompts are sentences, not documents)
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


@dataclass(frozen=True)
class View:
    """A checked directive: its kind, typed values by field name, expectations and where it was written."""

    kind: ViewKind
    values: Mapping[str, Any]
    expects: tuple[Expectation, ...]
    line: int

    def url_params(self) -> dict[str, str]:
        """The full page's query string for this view: its fields under the page's own URL keys."""
        out: dict[str, str] = {}
        for f in self.kind.fields:
            if f.name in self.values:
                v = self.values[f.name]
                if f.name == "reference":
                    v = v == "prompt"  # the page's ab_ref_self flag
                out[f.url_key] = ("true" if v else "false") if isinstance(v, bool) else f"{v:g}" \
                    if isinstance(v, float) else str(v)
        out.update(self.kind.fixed)
        if self.kind.name == "distributions" and "prompt" in self.values and "source" not in self.values:
            out["ad_source"] = "prompt"
        if self.kind.tab is not None:
            out[self.kind.tab[0]] = self.kind.tab[1]
        if self.kind.name == "distributions" and any(e.metric == "r2" for e in self.expects):
            out["ad_tab"] = "Between layers"  # the tab that shows R²
        return out


def _value(f: Field, raw: str, line: int) -> Any:
    v = unquote(raw)
    if f.kind in ("text", "token"):
        if len(v) > MAX_TEXT:
            raise UserError(f"Line {line}: '{f.name}' is {len(v):,} characters; at most {MAX_TEXT:,}.")
        if "\x00" in v:
            raise UserError(f"Line {line}: '{f.name}' contains a NUL character.")
        return v
    if f.kind == "bool":
        if v.lower() not in _TRUE + _FALSE:
            raise UserError(f"Line {line}: '{f.name}' is true or false, not {v[:30]!r}.")
        return v.lower() in _TRUE
    if f.kind == "choice":
        if v not in f.choices:
            raise UserError(f"Line {line}: '{f.name}' is one of {', '.join(f.choices)}, not {v[:30]!r}.")
        return v
    if f.kind == "corpus":
        from interp_core.data.corpus import BUILTINS

        name = v.removeprefix("builtin:")
        if not v.startswith("builtin:") or name not in BUILTINS:
            raise UserError(f"Line {line}: a lesson's corpus is a built-in one ({', '.join('builtin:' + n for n in BUILTINS)}),"
                            f" not {v[:40]!r}.")
        return v
    try:
        num: float = int(v) if f.kind == "int" else float(v)
    except ValueError:
        raise UserError(f"Line {line}: '{f.name}' is a{'n integer' if f.kind == 'int' else ' number'}, "
                        f"not {v[:30]!r}.") from None
    if (f.lo is not None and num < f.lo) or (f.hi is not None and num > f.hi) or num != num:
        raise UserError(f"Line {line}: '{f.name}' must be between {f.lo:g} and {f.hi:g}.")
    return num


def _budgets(kind: ViewKind, v: Mapping[str, Any], d: Directive) -> None:
    """The pages' budgets that a view's fields alone decide (prompt token counts are checked when it runs)."""
    b = budgets()
    try:
        if kind.name == "seed":
            b.seed_tokens.check(int(v.get("samples", 8)) * int(v.get("batch", 32)) * int(v.get("seq_len", 256)))
        if kind.name == "distributions":
            b.histogram_tokens.check(int(v.get("tokens", 1000)))
        if kind.name == "compare":
            b.generate_tokens.check(int(v.get("generate", 0)))
        if kind.name == "sweep" and v.get("sweep") == "scale":
            b.sweep_points.check(len([s for s in str(v.get("scales", "")).split(",") if s.strip()]))
    except UserError as e:
        raise UserError(f"Line {d.line}: {e}") from None


def check_directive(d: Directive) -> View:
    """A directive as a checked View, or a UserError naming the line of the first problem."""
    page = d.get("page")
    if page is None:
        raise UserError(f"Line {d.line}: a view needs 'page:' ({', '.join(PAGES)}).")
    page = unquote(page)
    if page not in PAGES:
        raise UserError(f"Line {d.line_of('page')}: there is no page {page[:40]!r}; pages: {', '.join(PAGES)}.")
    name = unquote(d.get("view") or PAGES[page])
    kind = VIEWS.get(name)
    if kind is None or kind.page != page:
        options = [k for k, vk in VIEWS.items() if vk.page == page]
        raise UserError(f"Line {d.line_of('view')}: the {page} page has no view {name[:40]!r}; "
                        f"views: {', '.join(options)}.")
    values: dict[str, Any] = {}
    for key, raw in d.fields:
        if key in ("page", "view"):
            continue
        f = kind.field(key)
        if f is None:
            raise UserError(f"Line {d.line_of(key)}: a {name} view has no field {key!r}; fields: "
                            f"{', '.join(x.name for x in kind.fields)}.")
        values[key] = _value(f, raw, d.line_of(key))
    for f in kind.fields:
        if f.required and f.name not in values:
            raise UserError(f"Line {d.line}: this {name} view needs '{f.name}:'.")
    if kind.name in ("compare", "sweep") and values.get("site") != "embed" and "layer" not in values:
        raise UserError(f"Line {d.line}: the site {values.get('site')} needs 'layer:'.")
    if kind.name == "compare" and values.get("method") == "patch" and not values.get("counterfactual"):
        raise UserError(f"Line {d.line}: 'method: patch' needs 'counterfactual:'.")
    _budgets(kind, values, d)
    expects = []
    for text, line in d.expects:
        try:
            e = parse_expectation(text)
            check_fits(e, kind.name, kind.metrics, values.get("target"))
        except ExpectError as err:
            raise UserError(f"Line {line}: {err}.") from None
        expects.append(e)
    return View(kind, values, tuple(expects), d.line)


def check_lesson(lesson: Lesson) -> list[str]:
    """Every problem of a lesson, one sentence each (empty: the lesson is valid)."""
    problems = list(lesson.problems)
    if not lesson.meta.get("title"):
        problems.append("Line 1: the lesson needs a 'title:' in its front matter.")
    for step in lesson.steps:
        kinds: set[str] = set()
        for d in step.directives:
            try:
                v = check_directive(d)
            except UserError as e:
                problems.append(str(e))
                continue
            if v.kind.name in kinds:
                problems.append(f"Line {d.line}: step {step.title!r} already shows a {v.kind.name} view; put this "
                                "one in a step of its own.")
            kinds.add(v.kind.name)
    return problems


def read_lesson(path: str | Path) -> Lesson:
    """Parse a lesson file (UTF-8 Markdown); a missing or unreadable file is one sentence."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"There is no lesson file {str(path)[:200]!r}.")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"The lesson {p.name!r} cannot be read as UTF-8 text ({type(e).__name__}).") from None
    return parse_lesson(text, str(p))
