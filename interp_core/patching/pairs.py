"""Ready-made clean / corrupted prompt pairs that run offline on the embedded Gemma 3 270M.

Each pair has the same token count on gemma-3-270m and single-token answers (tests/integration check
both), so every position lines up without alignment choices.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pair:
    """A clean prompt, a corrupted one that changes the answer, and the two answers (target, foil)."""

    name: str
    clean: str
    corrupt: str
    target: str  # the clean prompt's answer
    foil: str  # the corrupted prompt's answer
    about: str  # what the pair isolates, in a line


PAIRS: dict[str, Pair] = {p.name: p for p in (
    Pair("Eiffel Tower → Paris", "The Eiffel Tower is in the city of", "The Colosseum is in the city of",
         " Paris", " Rome", "where a landmark's city is recalled (factual recall)"),
    Pair("Capital of France", "The capital of France is the city of", "The capital of Italy is the city of",
         " Paris", " Rome", "which components carry the country into the capital"),
    Pair("Indirect object (IOI)", "When Mary and John went to the store, John gave a drink to",
         "When Mary and John went to the store, Mary gave a drink to",
         " Mary", " John", "the indirect-object circuit: who received the drink"),
)}
DEFAULT_PAIR = "Eiffel Tower → Paris"
