"""A process-wide memo for pure functions of shared, never-changed results (figures, a lens trajectory): every
session that shows the same stored result (a room's followers, a presenter's reruns, one visitor's next click)
reuses one value instead of rebuilding it. Results count by identity, plain options by value; callers must not
change what they get back. A value is kept no longer than its results are (weak references where a result allows
them), and at most MAX_ENTRIES values are kept."""
from __future__ import annotations

import functools
import numbers
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, ParamSpec, TypeVar, cast

P = ParamSpec("P")
R = TypeVar("R")

MAX_ENTRIES = 64  # values kept (the least recently used go first)
_PLAIN = (str, numbers.Number, bytes, type(None))  # (numbers: numpy's scalars too)
_CACHE: OrderedDict[tuple, tuple[tuple, Any]] = OrderedDict()  # key -> (the results' references, value)
_LOCK = threading.Lock()
_MISS = object()


def _part(x: Any) -> Hashable:
    """An argument's share of the key: plain values (and tuples of them) by value, anything else by identity."""
    if isinstance(x, _PLAIN):
        return (type(x).__name__, x)
    if isinstance(x, tuple):
        return ("tuple", *(_part(v) for v in x))
    return ("id", id(x))


def _refs(values: tuple) -> tuple:
    """What keeps the key's identities true: a weak reference to each result that allows one (the entry dies with
    it), else the object itself (it then lives as long as the entry, so its id cannot be reused meanwhile)."""
    out: list[Any] = []
    for v in values:
        if isinstance(v, _PLAIN):
            continue
        if isinstance(v, tuple):
            out.extend(_refs(v))
            continue
        try:
            out.append(weakref.ref(v))
        except TypeError:
            out.append(v)
    return tuple(out)


def _alive(refs: tuple) -> bool:
    return all(r() is not None for r in refs if isinstance(r, weakref.ref))


def identity_memo(fn: Callable[P, R]) -> Callable[P, R]:
    """Memoize `fn` process-wide by its arguments: a value is built once per (result objects, options)."""
    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def inner(*args: P.args, **kwargs: P.kwargs) -> R:
        key = (name, tuple(_part(a) for a in args), tuple((k, _part(v)) for k, v in sorted(kwargs.items())))
        with _LOCK:
            refs, hit = _CACHE.get(key, ((), _MISS))
            if hit is not _MISS and _alive(refs):  # (a dead result's id may belong to a new object now)
                _CACHE.move_to_end(key)
                return cast(R, hit)
        value = fn(*args, **kwargs)  # (outside the lock: two sessions may build it at once; both get a right value)
        with _LOCK:
            for k in [k for k, (r, _) in _CACHE.items() if not _alive(r)]:
                del _CACHE[k]
            _CACHE[key] = (_refs((*args, *kwargs.values())), value)
            _CACHE.move_to_end(key)
            while len(_CACHE) > MAX_ENTRIES:
                _CACHE.popitem(last=False)
        return value

    return inner


def clear() -> None:
    with _LOCK:
        _CACHE.clear()
