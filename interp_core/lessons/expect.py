"""Expectations: `expect:` lines such as `p(' Paris') drops below 0.05`, parsed into data and checked against a
view's result (its `.to_dict()`). No expression is ever evaluated; the grammar is

    METRIC [at layer N | at scale S] COMPARISON
    METRIC      p(T) rank(T) z(T) top snap(T) kl repair generation worst cell(L, P) winner share(T) top_share
                kurtosis std max min mean r2(A, B)            (T: a quoted token such as ' Paris')
    COMPARISON  above X | below X | between X and Y | is V | is not V | starts with 'TEXT'
                | drops below X | rises above X | stays above X | stays below X     (before -> after)
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

TEXT_METRICS = ("top", "generation", "winner")
TOKEN_ARG = ("p", "rank", "z", "snap", "share")
NEEDS_LAYER = {"lens": ("p", "rank", "z", "top"), "distributions": ("kurtosis", "std", "max", "min", "mean")}
BEFORE_AFTER = ("p", "rank", "top", "generation")  # the compare view has a clean and an ablated value
_CMP = re.compile(r"^(drops below|rises above|stays above|stays below|above|below|between|is not|is|starts with)"
                  r"\s+(.*)$")


class ExpectError(ValueError):
    """An expectation that cannot be read or does not fit its view (one sentence)."""


@dataclass(frozen=True)
class Expectation:
    text: str
    metric: str
    args: tuple[str, ...]  # a token, or two layer labels / a layer and a position
    where: tuple[str, str] | None  # ("layer", "13") or ("scale", "0.5")
    op: str
    operands: tuple[str, ...]

    @property
    def token(self) -> str | None:
        return self.args[0] if self.metric in TOKEN_ARG and self.args else None


@dataclass(frozen=True)
class Outcome:
    """A checked expectation: the value(s) the model gave and whether they meet it."""

    expectation: Expectation
    value: Any
    before: Any
    ok: bool

    def values_text(self) -> str:
        return (f"{_fmt(self.before)} → {_fmt(self.value)}" if self.before is not None else _fmt(self.value))


def _fmt(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
    if isinstance(v, str):
        return repr(v)
    return str(v)


def _quoted(s: str) -> tuple[str, str]:
    """(the quoted string at the start of s, the rest)."""
    s = s.lstrip()
    if not s or s[0] not in "'\"":
        raise ExpectError(f"expected a quoted token such as ' Paris' at {s[:20]!r}")
    end = s.find(s[0], 1)
    if end < 0:
        raise ExpectError("a quote is never closed")
    return s[1:end], s[end + 1:]


def parse_expectation(text: str) -> Expectation:
    """Read one expectation (raises ExpectError with the reason)."""
    s = text.strip()
    m = re.match(r"^([a-z0-9_]+)", s)
    if m is None:
        raise ExpectError("it must start with a metric such as p(' Paris') or kl")
    metric, rest = m.group(1), s[m.end():]
    args: tuple[str, ...] = ()
    if rest.startswith("("):
        if metric in TOKEN_ARG:
            tok, rest = _quoted(rest[1:])
            args = (tok,)
        else:
            inner, sep, rest = rest[1:].partition(")")
            if not sep:
                raise ExpectError("a parenthesis is never closed")
            args = tuple(a.strip() for a in inner.split(","))
            rest = ")" + rest
        rest = rest.lstrip()
        if not rest.startswith(")"):
            raise ExpectError("a parenthesis is never closed")
        rest = rest[1:]
    where = None
    rest = rest.strip()
    if metric == "worst":  # "worst layer is 3", "worst scale is 0": the word is for the reader
        rest = re.sub(r"^(layer|scale|head)\s+", "", rest)
    wm = re.match(r"^at\s+(layer|scale)\s+(\S+)\s+", rest)
    if wm:
        where, rest = (wm.group(1), wm.group(2)), rest[wm.end():]
    cm = _CMP.match(rest)
    if cm is None:
        raise ExpectError(f"{rest[:30]!r} is not a comparison (above X, below X, is V, drops below X, …)")
    op, tail = cm.group(1), cm.group(2).strip()
    if op == "between":
        lo, sep, hi = tail.partition(" and ")
        if not sep:
            raise ExpectError("'between' needs 'X and Y'")
        operands: tuple[str, ...] = (lo.strip(), hi.strip())
    elif tail[:1] in "'\"":
        val, extra = _quoted(tail)
        if extra.strip():
            raise ExpectError(f"unexpected {extra.strip()[:20]!r} after the value")
        operands = (val,)
    else:
        operands = (tail,)
    return Expectation(text, metric, args, where, op, operands)


def _number(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise ExpectError(f"{s!r} is not a number") from None
    if not math.isfinite(v):
        raise ExpectError(f"{s!r} is not a finite number")
    return v


def check_fits(e: Expectation, view: str, metrics: tuple[str, ...], target: str | None) -> None:
    """Raise ExpectError when `e` does not fit a view of this kind (checked before anything runs)."""
    if e.metric not in metrics:
        raise ExpectError(f"this view's expectations can name {', '.join(metrics)}, not {e.metric!r}")
    if e.metric in TOKEN_ARG and not e.args:
        raise ExpectError(f"{e.metric} needs a quoted token, e.g. {e.metric}(' Paris')")
    if e.metric in ("cell", "r2") and len(e.args) != 2:
        raise ExpectError(f"{e.metric} needs two values, e.g. {e.metric}(13, 9)")
    if view in ("lens", "compare", "sweep") and e.token is not None and target is not None and e.token != target:
        raise ExpectError(f"this view tracks the target {target!r}, not {e.token!r}")
    if e.metric in NEEDS_LAYER.get(view, ()) and (e.where is None or e.where[0] != "layer"):
        raise ExpectError(f"{e.metric} needs 'at layer N' here")
    if view == "sweep" and e.metric in ("p", "kl") and e.where is None:
        raise ExpectError(f"{e.metric} needs 'at layer N' or 'at scale S' in a sweep")
    ba = e.op in ("drops below", "rises above", "stays above", "stays below")
    if ba and not (view == "compare" and e.metric in BEFORE_AFTER):
        raise ExpectError(f"'{e.op}' compares a before and an after value; use 'above' or 'below' here")
    text = e.metric in TEXT_METRICS
    if text and e.op not in ("is", "is not", "starts with"):
        raise ExpectError(f"{e.metric} is text: use 'is', 'is not' or 'starts with'")
    if not text:
        if e.op == "starts with":
            raise ExpectError(f"{e.metric} is a number: 'starts with' is for text")
        for o in e.operands:
            _number(o)
