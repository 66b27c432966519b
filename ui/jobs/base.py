"""The job protocol every page job follows: a frozen key built from the inputs (its fields are the result's
key), `compute(lm, key, progress)`, `cost(lm, key) -> Cost`, `defaults(lm) -> key`, the scheduler kind and
the result slot. No Streamlit here: the warm-up and tests use jobs without a page."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from interp_core.engine.scheduler import LONG, SHORT
from interp_core.results import Progress

if TYPE_CHECKING:
    from interp_core import LoadedModel

__all__ = ["LONG", "SHORT", "Cost", "Key", "PageJob", "context", "model_id", "n_tokens"]


@dataclass(frozen=True)
class Cost:
    """A run's work: the model identity and kind of work its measured rate is kept under, and its FLOPs."""

    model: str
    kind: str
    flops: float


def context(default: Any = None) -> Any:
    """A key field the computation needs but that is not part of the result's identity (e.g. the loaded corpus
    whose sha256 is a key field): left out of `inputs()`, equality and hashing."""
    return dataclasses.field(default=default, compare=False, hash=False, repr=False, metadata={"context": True})


@dataclass(frozen=True)
class Key:
    """Base of every job key: `model` is the model's full identity (name, revision, device, dtype)."""

    model: str

    # fields left out of inputs() while they are None (inputs that only some settings have)
    OPTIONAL: ClassVar[tuple[str, ...]] = ()

    def inputs(self) -> dict[str, Any]:
        """The result's key as a dict (what the store fingerprints and the stale notice compares)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.metadata.get("context"):
                continue
            v = getattr(self, f.name)
            if v is None and f.name in self.OPTIONAL:
                continue
            out[f.name] = v
        return out


def model_id(lm: LoadedModel) -> str:
    """The model identity every key and rate is kept under."""
    return repr(lm.spec)


def n_tokens(lm: LoadedModel, text: str) -> int:
    """Prompt length for an estimate (a rough count when the text does not encode: the run reports that)."""
    try:
        return max(1, len(lm.encode(text).tokens))
    except Exception:  # noqa: BLE001 - an estimate only; the run itself reports bad input
        return max(1, len(text) // 4)


K = TypeVar("K", bound=Key)
R = TypeVar("R")


class PageJob(Generic[K, R]):
    """One kind of page run. Subclasses set `slot` (where sessions keep its results), `kind` (SHORT: served
    before the next batch of any long job; LONG: scans, sweeps, grids) and `shared` (any session may reuse a
    result: deterministic work for the same key), and implement compute, cost and defaults."""

    slot: ClassVar[str]
    kind: ClassVar[str] = SHORT
    shared: ClassVar[bool] = False

    def compute(self, lm: LoadedModel, key: K, progress: Progress | None = None) -> R:
        raise NotImplementedError

    def cost(self, lm: LoadedModel, key: K) -> Cost | None:
        """The run's work for the estimate (None: always short, never estimated)."""
        return None

    def defaults(self, lm: LoadedModel) -> K:
        raise NotImplementedError

    def validate(self, lm: LoadedModel, key: K) -> None:
        """Cheap checks (no model run) whose UserError is shown before any estimate or run."""

    def inputs(self, key: K) -> Mapping[str, Any]:
        return key.inputs()
