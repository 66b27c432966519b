"""A lesson file read into data: a title, a language and a sequence of steps, each step Markdown text with
fenced ```view blocks (directives) in it. Parsing never runs anything; `check.py` validates what was read."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_LESSON_BYTES = 200_000  # a lesson is prose and a few views, never a data file
MAX_STEPS = 40
MAX_VIEWS_PER_STEP = 4

_FENCE = re.compile(r"^(`{3,}|~{3,})\s*([A-Za-z0-9_-]*)\s*$")
_FIELD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:\s?(.*)$")


@dataclass(frozen=True)
class Directive:
    """One ```view block: its fields (first occurrence of each), its expectations and the file line of each."""

    fields: tuple[tuple[str, str], ...]  # (name, raw value) in file order
    expects: tuple[tuple[str, int], ...]  # (text, line)
    lines: tuple[tuple[str, int], ...]  # field name -> its line
    line: int  # the opening fence's line

    def get(self, name: str, default: str | None = None) -> str | None:
        for k, v in self.fields:
            if k == name:
                return v
        return default

    def line_of(self, name: str) -> int:
        return dict(self.lines).get(name, self.line)


@dataclass(frozen=True)
class Step:
    """A step: a heading, Markdown parts and directives in the order they appear."""

    title: str
    parts: tuple[str | Directive, ...]
    line: int

    @property
    def directives(self) -> list[Directive]:
        return [p for p in self.parts if isinstance(p, Directive)]


@dataclass(frozen=True)
class Lesson:
    """A parsed lesson; `meta` holds the front matter (title, lang, model, summary, order)."""

    meta: dict[str, str]
    intro: str
    steps: tuple[Step, ...]
    source: str = ""  # the file it came from (display only)
    problems: tuple[str, ...] = field(default=())  # structural problems found while parsing

    @property
    def title(self) -> str:
        return self.meta.get("title", "Untitled lesson")


def unquote(value: str) -> str:
    """'…' or "…" around a value keeps its spaces (tokens such as ' Paris'); no escapes are interpreted."""
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return v[1:-1]
    return v


def _front_matter(lines: list[str], problems: list[str]) -> tuple[dict[str, str], int]:
    if not lines or lines[0].strip() != "---":
        return {}, 0
    meta: dict[str, str] = {}
    for i in range(1, len(lines)):
        s = lines[i].strip()
        if s == "---":
            return meta, i + 1
        if not s:
            continue
        m = _FIELD.match(s)
        if m is None:
            problems.append(f"Line {i + 1}: the front matter takes 'key: value' lines, not {s[:40]!r}.")
            continue
        meta.setdefault(m.group(1), unquote(m.group(2)))
    problems.append("Line 1: the front matter opened with '---' is never closed.")
    return meta, len(lines)


def _directive(body: list[tuple[int, str]], line: int, problems: list[str]) -> Directive:
    fields: list[tuple[str, str]] = []
    lines: list[tuple[str, int]] = []
    expects: list[tuple[str, int]] = []
    for n, raw in body:
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        m = _FIELD.match(s)
        if m is None:
            problems.append(f"Line {n}: a view takes 'field: value' lines, not {s[:40]!r}.")
            continue
        name, value = m.group(1), m.group(2).strip()
        if name == "expect":
            expects.append((value, n))
        elif name in dict(fields):
            problems.append(f"Line {n}: the field '{name}' is given twice in this view.")
        else:
            fields.append((name, value))
            lines.append((name, n))
    return Directive(tuple(fields), tuple(expects), tuple(lines), line)


def parse_lesson(text: str, source: str = "") -> Lesson:
    """Read a lesson's Markdown. Structural problems are collected (with line numbers), never raised."""
    problems: list[str] = []
    if len(text.encode("utf-8", "replace")) > MAX_LESSON_BYTES:
        problems.append(f"The lesson is over {MAX_LESSON_BYTES:,} bytes; split it into several lessons.")
        text = text[:MAX_LESSON_BYTES]
    lines = text.splitlines()
    meta, start = _front_matter(lines, problems)
    intro: list[str] = []
    steps: list[Step] = []
    cur_title, cur_line, parts, buf = None, 0, [], []  # type: ignore[var-annotated]

    def flush_text() -> None:
        if "".join(buf).strip():
            (parts if cur_title is not None else intro).append("\n".join(buf).strip("\n"))
        buf.clear()

    def close_step() -> None:
        flush_text()
        if cur_title is not None:
            steps.append(Step(cur_title, tuple(parts), cur_line))

    i = start
    while i < len(lines):
        ln, n = lines[i], i + 1
        fence = _FENCE.match(ln.strip())
        if ln.startswith("## "):
            close_step()
            cur_title, cur_line, parts = ln[3:].strip(), n, []
        elif fence:
            j = i + 1
            while j < len(lines) and lines[j].strip() != fence.group(1):
                j += 1
            if j >= len(lines):
                problems.append(f"Line {n}: this fenced block is never closed.")
            if fence.group(2) == "view":
                flush_text()
                d = _directive([(k + 1, lines[k]) for k in range(i + 1, min(j, len(lines)))], n, problems)
                if cur_title is None:
                    problems.append(f"Line {n}: a view must sit inside a step (under a '## ' heading).")
                else:
                    parts.append(d)
            else:
                buf.extend(lines[i:j + 1])
            i = j
        else:
            buf.append(ln)
        i += 1
    close_step()
    if not steps:
        problems.append("The lesson has no steps: start each step with a '## ' heading.")
    if len(steps) > MAX_STEPS:
        problems.append(f"The lesson has {len(steps)} steps; at most {MAX_STEPS} are allowed.")
    for s in steps:
        if len(s.directives) > MAX_VIEWS_PER_STEP:
            problems.append(f"Line {s.line}: step {s.title!r} has {len(s.directives)} views; at most "
                            f"{MAX_VIEWS_PER_STEP} per step.")
    return Lesson(meta, "\n".join(intro).strip(), tuple(steps), source, tuple(problems))
