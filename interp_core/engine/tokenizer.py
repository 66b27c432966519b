"""Load a tokenizer quickly: Gemma's straight from tokenizer.json (the Rust parser), everything else via Auto.

transformers 5 builds `GemmaTokenizer` by re-deriving the backend from the vocabulary in Python, which
costs several seconds on every start; `PreTrainedTokenizerFast(tokenizer_file=...)` reads the same saved
tokenizer.json directly and gives the same ids (tests/integration/test_fast_start.py checks the corpus).
"""
from __future__ import annotations

import json
from pathlib import Path

FAST_CLASSES = ("GemmaTokenizer", "GemmaTokenizerFast")  # classes whose saved tokenizer.json is complete
SPECIALS = ("bos_token", "eos_token", "unk_token", "pad_token", "mask_token", "sep_token", "cls_token")


def load_tokenizer(folder: Path):
    """The tokenizer saved in `folder`: the fast path where it is known to be exact, else AutoTokenizer."""
    fast = fast_tokenizer(folder)
    if fast is not None:
        return fast
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)


def fast_tokenizer(folder: Path):
    """PreTrainedTokenizerFast read from tokenizer.json for the classes in FAST_CLASSES; None otherwise."""
    file, cfg_path = folder / "tokenizer.json", folder / "tokenizer_config.json"
    if not (file.is_file() and cfg_path.is_file()):
        return None
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(cfg, dict) or cfg.get("tokenizer_class") not in FAST_CLASSES:
        return None
    from transformers import PreTrainedTokenizerFast

    specials = {k: cfg[k] for k in SPECIALS if isinstance(cfg.get(k), str)}
    return PreTrainedTokenizerFast(tokenizer_file=str(file), name_or_path=str(folder), **specials)
