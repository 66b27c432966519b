"""The words a steering request may use (its α units, its positions syntax): kept apart from the steering code
so the CLI's parser and the pages can name them without importing torch or pandas."""
from __future__ import annotations

ALPHA_UNITS = {"abs": "absolute size along the unit direction, in the site's units",
               "norm": "a multiple of the site's typical norm (mean ‖activation‖ over the prompt)"}
POSITIONS_HELP = "all (prompt and every generated token), last (last prompt token), from N (N onward, generated " \
                 "tokens included; negative counts from the prompt's end) or comma-separated prompt positions"
