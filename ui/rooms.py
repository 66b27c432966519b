"""Workshop rooms: a presenter's view (page + URL state) that followers' browsers mirror. Streamlit-free and
process-wide: the app's sessions share one registry (`REGISTRY`); tests drive their own with a fake clock.

Only the session that opened a room can change its view; a follower only reads. Codes are 10 symbols of
Crockford's base32 (50 bits from `secrets`), so a room cannot be found by guessing. Nobody polls: the registry
calls `wake(session, why)` for each session that must redraw (followers when the view changes, the presenter when
the number of followers does), and `sweep()` ends rooms whose presenter is gone or that idled for `idle_s`.
"""
from __future__ import annotations

import os
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from interp_core.errors import UserError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: 5 bits a symbol, no I, L, O or U
CODE_LEN = 10  # 50 bits
HISTORY = 32  # view changes a room remembers the followers' times of (server status, bench/room_delay.py)
ROOM_KEYS = ("present", "follow")  # query keys that say who a session is; never part of a view
_READS_AS = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LEN))


def normalize(raw: str) -> str | None:
    """A typed code in canonical form (case, dashes and look-alike letters forgiven), or None if malformed."""
    code = str(raw).upper().translate(_READS_AS)
    return code if len(code) == CODE_LEN and all(c in ALPHABET for c in code) else None


def pretty(code: str) -> str:
    """The code as people read it aloud: two groups of five."""
    return f"{code[:5]}-{code[5:]}"


class NotPresenter(PermissionError):
    """A session that did not open the room tried to change its view."""


@dataclass(frozen=True)
class View:
    """What the presenter shows: a page and its URL state. `version` grows when either changes; `runs` grows with
    every finished presenter run (a follower waiting for the presenter's result redraws on it)."""

    page: str
    query: tuple[tuple[str, str], ...]
    version: int
    runs: int

    def query_dict(self) -> dict[str, str]:
        return dict(self.query)


@dataclass
class Room:
    code: str
    presenter: str
    opened: float
    changed: float  # last change of the view (idle timeout)
    presenter_seen: float  # last publish or count from the presenter
    view: View = field(default_factory=lambda: View("home", (), 0, 0))
    followers: dict[str, int | None] = field(default_factory=dict)  # session id -> runs it waits beyond (None: not)
    # the last view changes, for the room's delay: (version, wall time published, {follower: wall time its run showed it})
    shown: deque[tuple[int, float, dict[str, float]]] = field(default_factory=lambda: deque(maxlen=HISTORY))


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


Wake = Callable[[str, str], None]  # (session id, "view" | "count" | "ended"): schedule that session's redraw


class RoomRegistry:
    """Every open room of this server process, behind one lock. `wake` only schedules a redraw (it never calls back
    into the registry), so it may be called with the lock held."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, idle_s: float | None = None,
                 presenter_timeout_s: float = 600.0, alive: Callable[[str], bool] | None = None,
                 wake: Wake | None = None) -> None:
        self.clock = clock
        self.idle_s = idle_s if idle_s is not None else _env_float("LOOKING_GLASS_ROOM_IDLE_S", 3 * 3600.0)
        self.presenter_timeout_s = presenter_timeout_s  # only without `alive` (no server to ask)
        self.alive = alive  # session id -> whether the server still has it connected
        self.wake = wake
        self._rooms: dict[str, Room] = {}
        self._ended: OrderedDict[str, str] = OrderedDict()  # recently ended code -> why (a clearer sentence)
        self._lock = threading.RLock()

    # ---- presenter ----
    def open(self, presenter: str) -> str:
        """The code of the room this session presents, opened now if it has none."""
        with self._lock:
            todo = self._sweep()
            code = next((r.code for r in self._rooms.values() if r.presenter == presenter), None)
            if code is None:
                code = new_code()
                while code in self._rooms:
                    code = new_code()
                now = self.clock()
                self._rooms[code] = Room(code, presenter, now, now, now)
        self._wake(todo)
        return code

    def publish(self, code: str, session: str, page: str, query: Mapping[str, str]) -> View:
        """Set the room's view (presenter only), counting a finished run even when nothing changed. Followers redraw
        when the view changed; those waiting for the presenter's result redraw on every run."""
        with self._lock:
            room = self._presenter_room(code, session)
            q = tuple(sorted((str(k), str(v)) for k, v in query.items() if k not in ROOM_KEYS))
            v = room.view
            changed = (page, q) != (v.page, v.query)
            room.view = View(page, q, v.version + int(changed), v.runs + 1)
            now = self.clock()
            room.presenter_seen = now
            if changed:
                room.changed = now
                room.shown.append((room.view.version, time.time(), {}))
            todo = [(sid, "view") for sid, waits in room.followers.items()
                    if changed or (waits is not None and room.view.runs > waits)]
            view = room.view
        self._wake(todo)
        return view

    def count(self, code: str, session: str) -> int:
        """The number of followers, for the presenter (which also says the presenter is still there)."""
        with self._lock:
            room = self._presenter_room(code, session)
            room.presenter_seen = self.clock()
            return len(room.followers)

    def close(self, code: str, session: str) -> None:
        with self._lock:
            self._presenter_room(code, session)
            todo = self._end(code, "the presenter closed it")
        self._wake(todo)

    def presents(self, session: str) -> str | None:
        """The code of the open room this session presents, if any."""
        with self._lock:
            todo = self._sweep()
            code = next((r.code for r in self._rooms.values() if r.presenter == session), None)
        self._wake(todo)
        return code

    # ---- followers ----
    def follow(self, code: str, session: str) -> View:
        """The room's current view for a follower, who is counted from now until it leaves or its browser goes."""
        with self._lock:
            room = self._room(code)
            joined = session != room.presenter and session not in room.followers
            if session != room.presenter:
                room.followers.setdefault(session, None)
            if joined:
                self._wake([(room.presenter, "count")])
            return room.view

    def wait(self, code: str, session: str, runs: int) -> bool:
        """A follower lacks the presenter's result: wake it after the presenter's next run. True when a run newer than
        `runs` (what the follower saw) already finished, so the follower should redraw now."""
        with self._lock:
            room = self._rooms.get(normalize(code) or "")
            if room is None or session not in room.followers:
                return False
            room.followers[session] = runs
            return room.view.runs > runs

    def done_waiting(self, code: str, session: str) -> None:
        with self._lock:
            room = self._rooms.get(normalize(code) or "")
            if room is not None and session in room.followers:
                room.followers[session] = None

    def followed_by(self, session: str) -> tuple[str, View] | None:
        """The code and current view of the room this session follows (None: it follows none)."""
        with self._lock:
            room = next((r for r in self._rooms.values() if session in r.followers), None)
            return (room.code, room.view) if room is not None else None

    def showed(self, code: str, session: str, version: int) -> None:
        """A follower's run finished showing the view `version` with its result (first time only counts)."""
        with self._lock:
            room = self._rooms.get(normalize(code) or "")
            if room is None or session not in room.followers:
                return
            for v, _, seen in room.shown:
                if v == version:
                    seen.setdefault(session, time.time())

    def delays(self) -> list[dict]:
        """Per open room, its followers and each recent view change: when it was published and when each follower's
        run had shown it (wall-clock seconds, as a browser's Date.now() reads them)."""
        with self._lock:
            return [{"room": pretty(r.code), "followers": len(r.followers),
                     "changes": [{"version": v, "published": t, "shown": sorted(seen.values())}
                                 for v, t, seen in r.shown]} for r in self._rooms.values()]

    def leave(self, code: str, session: str) -> None:
        with self._lock:
            room = self._rooms.get(normalize(code) or "")
            left = room is not None and room.followers.pop(session, "absent") != "absent"
            todo = [(room.presenter, "count")] if room is not None and left else []
        self._wake(todo)

    def followers(self, code: str) -> int:
        with self._lock:
            return len(self._room(code).followers)

    # ---- housekeeping (a server thread calls this every few seconds) ----
    def sweep(self) -> None:
        """End rooms whose presenter left or that idled; forget followers whose browsers went; wake whom it concerns."""
        with self._lock:
            todo = self._sweep()
        self._wake(todo)

    # ---- internals ----
    def _wake(self, todo: list[tuple[str, str]]) -> None:
        if self.wake is None:
            return
        for sid, why in dict.fromkeys(todo):
            self.wake(sid, why)

    def _room(self, code: str) -> Room:
        self._wake(self._sweep())
        canon = normalize(code)
        room = self._rooms.get(canon) if canon else None
        if room is None:
            shown = str(code)[:24]
            if canon is not None and canon in self._ended:
                raise UserError(f"Room {pretty(canon)} has ended ({self._ended[canon]}).")
            raise UserError(f"There is no room with the code {shown!r}: check the code on the presenter's screen.")
        return room

    def _presenter_room(self, code: str, session: str) -> Room:
        room = self._room(code)
        if session != room.presenter:
            raise NotPresenter("Only the presenter can change the room's view.")
        return room

    def _end(self, code: str, why: str) -> list[tuple[str, str]]:
        room = self._rooms.pop(code, None)
        self._ended[code] = why
        while len(self._ended) > 1000:
            self._ended.popitem(last=False)
        return [(sid, "ended") for sid in room.followers] if room is not None else []

    def _sweep(self) -> list[tuple[str, str]]:
        now, todo = self.clock(), []
        for code, room in list(self._rooms.items()):
            gone = (not self.alive(room.presenter)) if self.alive is not None else (
                now - room.presenter_seen > self.presenter_timeout_s)
            if gone:
                todo += self._end(code, "the presenter left")
            elif now - room.changed > self.idle_s:
                todo += self._end(code, f"nothing changed for {self.idle_s / 60:g} minutes")
            elif self.alive is not None:
                left = [sid for sid in room.followers if not self.alive(sid)]
                for sid in left:
                    del room.followers[sid]
                if left:
                    todo.append((room.presenter, "count"))
        return todo


REGISTRY = RoomRegistry()
