"""Lessons: Markdown files with live ```view blocks, read as data and validated without a browser or a model.

The views run through the pages' own jobs (the UI binds them); this room parses, validates and checks
expectations against a view's result dictionary."""
from __future__ import annotations

from .check import View, check_directive, check_lesson, read_lesson
from .document import Directive, Lesson, Step, parse_lesson
from .expect import Expectation, ExpectError, Outcome, parse_expectation
from .library import LANGUAGES, LESSONS_ROOT, lesson_names, lesson_path, load_lesson
from .measure import measure
from .vocabulary import PAGES, VIEWS

__all__ = ["Directive", "ExpectError", "Expectation", "LANGUAGES", "LESSONS_ROOT", "Lesson", "Outcome", "PAGES",
           "Step", "VIEWS", "View", "check_directive", "check_lesson", "lesson_names", "lesson_path", "load_lesson",
           "measure", "parse_expectation", "parse_lesson", "read_lesson"]
