"""The shipped lessons: `assets/lessons/<lang>/<name>.md`, one folder per language. A lesson is named by its file
stem and read only from inside its language folder (no path, no symlink out), so a name can never reach another
file."""
from __future__ import annotations

import re
from pathlib import Path

from interp_core.errors import UserError

from .check import read_lesson
from .document import Lesson

LESSONS_ROOT = Path(__file__).resolve().parents[2] / "assets" / "lessons"
LANGUAGES = {"en": "English", "vi": "Tiếng Việt"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def lesson_names(lang: str, root: Path = LESSONS_ROOT) -> list[str]:
    """The lessons in one language, in their front matter's `order` (then by name)."""
    folder = root / lang
    if lang not in LANGUAGES or not folder.is_dir():
        return []
    names = [p.stem for p in folder.glob("*.md") if _NAME.match(p.stem) and not p.is_symlink()]

    def order(n: str) -> tuple[int, str]:
        try:
            return int(load_lesson(lang, n, root).meta.get("order", "999")), n
        except (UserError, ValueError):
            return 999, n

    return sorted(names, key=order)


def lesson_path(lang: str, name: str, root: Path = LESSONS_ROOT) -> Path:
    """The file of a lesson, refusing anything that is not a plain lesson name in a known language."""
    if lang not in LANGUAGES:
        raise UserError(f"There are no lessons in {lang[:20]!r}; languages: {', '.join(LANGUAGES)}.")
    if not _NAME.match(name):
        raise UserError(f"{name[:40]!r} is not a lesson name.")
    folder = (root / lang).resolve()
    p = root / lang / f"{name}.md"
    if p.is_symlink() or not p.is_file() or p.resolve().parent != folder:
        raise UserError(f"There is no lesson {name!r} in {LANGUAGES[lang]}.")
    return p


def load_lesson(lang: str, name: str, root: Path = LESSONS_ROOT) -> Lesson:
    return read_lesson(lesson_path(lang, name, root))
