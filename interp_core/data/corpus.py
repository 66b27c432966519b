"""Text corpora for the neuron explorer, distributions and reference statistics.

A corpus source is one of: `builtin:NAME` (shipped in assets/corpora, no network), `gutenberg:ID`
(downloaded once into the cache), a local text file path, or pasted/uploaded text (`Corpus.from_text`).
The content hash is part of every cache key, so a changed corpus never returns stale results.
"""
from __future__ import annotations

import hashlib
import re
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from interp_core.errors import UserError
from interp_core.results import atomic_write
from interp_core.paths import check_local_path, shown
from interp_core.settings import load_settings

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "corpora"
MAX_CHARS = 20_000_000  # refuse absurd inputs before tokenizing them
BUILTINS: dict[str, tuple[str, str]] = {
    # name -> (file in assets/corpora, where it comes from)
    "looking-glass": ("through_the_looking_glass.txt",
                      "Lewis Carroll, Through the Looking-Glass (1871), Project Gutenberg eBook #12, public domain"),
    "kjv": ("kjv_genesis_exodus_ruth_esther_daniel.txt",
            "King James Bible (1611): Genesis, Exodus, Ruth, Esther and Daniel; text from the Debian package "
            "bible-kjv-text 4.38, public domain"),
}
_GUTENBERG_URLS = (
    "https://www.gutenberg.org/cache/epub/{id}/pg{id}.txt",
    "https://www.gutenberg.org/files/{id}/{id}-0.txt",
)


@dataclass(frozen=True)
class Corpus:
    text: str
    name: str  # short label for the UI
    source: str  # where it came from, for provenance
    sha256: str  # of the UTF-8 text

    @classmethod
    def from_text(cls, text: str, name: str = "pasted text", source: str = "pasted") -> Corpus:
        if not isinstance(text, str):
            raise UserError("The corpus must be text.")
        if "\x00" in text:
            text = text.replace("\x00", "")
        if not text.strip():
            raise UserError("The corpus is empty; paste or choose some text.")
        if len(text) > MAX_CHARS:
            raise UserError(f"The corpus has {len(text):,} characters; the limit is {MAX_CHARS:,}.")
        return cls(text, name, source, hashlib.sha256(text.encode("utf-8")).hexdigest())

    @classmethod
    def from_bytes(cls, data: bytes, name: str, source: str) -> Corpus:
        """Decode an upload or file: UTF-8 (with BOM) only; anything else is refused with a clear message."""
        if len(data) > 4 * MAX_CHARS:
            raise UserError(f"'{name}' is {len(data):,} bytes; the limit is {4 * MAX_CHARS:,}.")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise UserError(f"'{name}' is not valid UTF-8 text (bad byte at position {e.start}); save it as UTF-8.") from e
        return cls.from_text(text, name, source)

    def map_text(self, fn) -> Corpus:
        """A corpus with `fn` applied to the text (hash recomputed)."""
        new = fn(self.text)
        return self if new == self.text else Corpus.from_text(new, self.name, self.source)


def strip_gutenberg(text: str) -> str:
    """Drop the Project Gutenberg licence header/footer when the markers are present."""
    start = re.search(r"\*\*\* ?START OF (THE|THIS) PROJECT GUTENBERG[^\n]*\n", text)
    end = re.search(r"\*\*\* ?END OF (THE|THIS) PROJECT GUTENBERG", text)
    if start and end and end.start() > start.end():
        return text[start.end():end.start()].strip()
    if start:
        return text[start.end():].strip()
    return text


GUTENBERG_BUILTIN: dict[int, str] = {12: "looking-glass"}  # Gutenberg book number -> built-in copy of it


def builtin(name: str) -> Corpus:
    if name not in BUILTINS:
        raise UserError(f"No built-in corpus '{name}'; choose one of: {', '.join(BUILTINS)}.")
    fname, source = BUILTINS[name]
    data = (ASSETS / fname).read_bytes()
    return Corpus.from_bytes(data, name, source).map_text(strip_gutenberg)


def gutenberg(book_id: str, *, timeout: float = 20.0) -> Corpus:
    """A Project Gutenberg book by number, downloaded once and cached on disk."""
    if not book_id.isdigit():
        raise UserError(f"'{book_id}' is not a Project Gutenberg book number (e.g. gutenberg:12).")
    cache = load_settings().cache_dir / "gutenberg" / f"{int(book_id)}.txt"
    if not cache.exists():
        data = None
        for url in _GUTENBERG_URLS:
            try:
                with urllib.request.urlopen(url.format(id=int(book_id)), timeout=timeout) as r:
                    data = r.read(4 * MAX_CHARS + 1)
                break
            except Exception:  # noqa: BLE001 - try the next mirror, then say it plainly
                continue
        if data is None and int(book_id) in GUTENBERG_BUILTIN:  # offline: the same book ships with the app
            fname, source = BUILTINS[GUTENBERG_BUILTIN[int(book_id)]]
            return Corpus.from_bytes((ASSETS / fname).read_bytes(), f"gutenberg:{book_id}",
                                     f"{source} (built-in copy; Project Gutenberg could not be reached)").map_text(
                strip_gutenberg)
        if data is None:
            raise UserError(
                f"Project Gutenberg book {book_id} is not cached and could not be downloaded (no network?); "
                "use a built-in corpus or a local file.")
        if not atomic_write(cache, lambda tmp: tmp.write_bytes(data)):
            return Corpus.from_bytes(data, f"gutenberg:{book_id}", f"Project Gutenberg eBook #{book_id}").map_text(
                strip_gutenberg)
    c = Corpus.from_bytes(cache.read_bytes(), f"gutenberg:{book_id}", f"Project Gutenberg eBook #{book_id}")
    return c.map_text(strip_gutenberg)


def local_file(path: str, *, roots=None) -> Corpus:
    """A regular UTF-8 text file (symlinks resolved and checked against the roots; no devices, pipes or binaries)."""
    p = check_local_path(path, kind="corpus file", roots=roots)
    if not p.is_file():
        raise UserError(f"The corpus path '{shown(path)}' is not a regular file.")
    try:
        size = p.stat().st_size
        if size > 4 * MAX_CHARS:
            raise UserError(f"The corpus file '{shown(path)}' is {size:,} bytes; the limit is {4 * MAX_CHARS:,}.")
        data = p.read_bytes()
    except OSError as e:
        raise UserError(f"The corpus file '{shown(path)}' could not be read ({e.strerror or e.__class__.__name__}).") from e
    if b"\x00" in data[:8192]:
        raise UserError(f"The corpus file '{shown(path)}' is not a text file (it holds binary data).")
    return Corpus.from_bytes(data, p.name, str(p))


def load_corpus(src: str, *, roots=None) -> Corpus:
    """Resolve a corpus source string: builtin:NAME, gutenberg:ID, or a local text file path."""
    if not isinstance(src, str) or not src.strip():
        raise UserError("No corpus given; use builtin:looking-glass, gutenberg:ID or a text file path.")
    src = src.strip()
    if src.startswith("builtin:"):
        return builtin(src.split(":", 1)[1])
    if src.startswith("gutenberg:"):
        return gutenberg(src.split(":", 1)[1])
    return local_file(src, roots=roots)

