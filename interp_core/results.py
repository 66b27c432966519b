"""What every method shares about running and keeping results: the progress callback type, the result
protocol (`.frame()` and `.to_dict()`), one atomic cache write and one out-of-memory test."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # annotations only: importing results must not cost pandas
    import pandas as pd

Progress = Callable[[float | None, str], None]
"""progress(fraction in [0, 1] or None when unknown, message); whatever it raises propagates (that is how
a caller cancels a run between batches)."""


@runtime_checkable
class Result(Protocol):
    """Every method's result: a table for people and a JSON-safe dict for the CLI."""

    def frame(self) -> pd.DataFrame: ...

    def to_dict(self) -> dict: ...


def atomic_write(path: Path, write: Callable[[Path], object], *, suffix: str = ".part") -> bool:
    """Write through `write(tmp)` to a temporary sibling, then rename it over `path` (readers never see half a file).

    Returns False instead of raising when the disk refuses: every cache is an optimisation, and a
    read-only cache folder only costs a recomputation. `suffix` keeps numpy's extensions (".part.npy")."""
    tmp = path.with_name(path.name + suffix)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        tmp.replace(path)
        return True
    except OSError:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        return False


def is_out_of_memory(e: BaseException) -> bool:
    """MemoryError, CUDA's OutOfMemoryError, or the CPU allocator's "can't allocate memory" RuntimeError."""
    if isinstance(e, MemoryError):
        return True
    text = str(e).lower()
    return isinstance(e, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)
