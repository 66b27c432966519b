"""A process-wide memo for pure functions of shared, never-changed results (figures, a lens trajectory): every
session that shows the same stored result (a room's followers, a presenter's reruns, one visitor's next click)
reuses one value instead of rebuilding it. Results count by identity, plain options by value; callers must not
change what they get back."""
from __future__ import annotations

import functools
import numbers
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, ParamSpec, TypeVar, cast

P = ParamSpec("P")
R = TypeVar("R")

MAX_ENTRIES = 64  # values kept (the least recently used go first); each also keeps its arguments alive
_PLAIN = (str, numbers.Number, bytes, type(None))  # (numbers: numpy's scalars too)
_CACHE: OrderedDict[tuple, tuple[tuple, Any]] = OrderedDict()  # key -> (the argument objects, value)
_LOCK = threading.Lock()
_MISS = object()


def _part(x: Any) -> Hashable:
    """An argument's share of the key: plain values (and tuples of them) by value, anything else by identity."""
    if isinstance(x, _PLAIN):
        return (type(x).__name__, x)
    if isinstance(x, tuple):
        return ("tuple", *(_part(v) for v in x))
    return ("id", id(x))


def identity_memo(fn: Callable[P, R]) -> Callable[P, R]:
    """Memoize `fn` process-wide by its arguments: a value is built once per (result objects, options)."""
    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def inner(*args: P.args, **kwargs: P.kwargs) -> R:
        key = (name, tuple(_part(a) for a in args), tuple((k, _part(v)) for k, v in sorted(kwargs.items())))
        with _LOCK:
            hit = _CACHE.get(key, (None, _MISS))[1]
            if hit is not _MISS:
                _CACHE.move_to_end(key)
                return cast(R, hit)
        value = fn(*args, **kwargs)  # (outside the lock: two sessions may build it at once; both get a right value)
        with _LOCK:
            _CACHE[key] = ((args, tuple(kwargs.values())), value)  # the objects stay alive, so their ids stay theirs
            _CACHE.move_to_end(key)
            while len(_CACHE) > MAX_ENTRIES:
                _CACHE.popitem(last=False)
        return value

    return inner


def clear() -> None:
    with _LOCK:
        _CACHE.clear()
