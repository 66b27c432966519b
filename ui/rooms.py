"""Workshop rooms: a presenter's view (page + URL state) that followers' browsers mirror. Streamlit-free and
process-wide: the app's sessions share one registry (`REGISTRY`); tests drive their own with a fake clock.

Only the session that opened a room can change its view; a follower only reads. Codes are 10 symbols of
Crockford's base32 (50 bits from `secrets`), so a room cannot be found by guessing. A room ends when its
presenter's session is gone (the server says it disconnected, or no heartbeat for `presenter_timeout_s`: a hidden
browser tab polls rarely) or nothing changed for `idle_s`.
"""
from __future__ import annotations

import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from interp_core.errors import UserError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: 5 bits a symbol, no I, L, O or U
CODE_LEN = 10  # 50 bits
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
    every finished presenter run (a follower waiting for a result reruns on it)."""

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
    presenter_seen: float  # last heartbeat or publish from the presenter
    view: View = field(default_factory=lambda: View("home", (), 0, 0))
    followers: dict[str, float] = field(default_factory=dict)  # session id -> last poll


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


class RoomRegistry:
    """Every open room of this server process, behind one lock."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, idle_s: float | None = None,
                 presenter_timeout_s: float = 600.0, follower_ttl_s: float = 5.0,
                 alive: Callable[[str], bool] | None = None) -> None:
        self.clock = clock
        self.idle_s = idle_s if idle_s is not None else _env_float("LOOKING_GLASS_ROOM_IDLE_S", 3 * 3600.0)
        self.presenter_timeout_s = presenter_timeout_s
        self.follower_ttl_s = follower_ttl_s
        self.alive = alive  # session id -> whether the server still has it connected (None: heartbeats only)
        self._rooms: dict[str, Room] = {}
        self._ended: OrderedDict[str, str] = OrderedDict()  # recently ended code -> why (a clearer sentence)
        self._lock = threading.RLock()

    # ---- presenter ----
    def open(self, presenter: str) -> str:
        """The code of the room this session presents, opened now if it has none."""
        with self._lock:
            self._sweep()
            for room in self._rooms.values():
                if room.presenter == presenter:
                    return room.code
            code = new_code()
            while code in self._rooms:
                code = new_code()
            now = self.clock()
            self._rooms[code] = Room(code, presenter, now, now, now)
            return code

    def publish(self, code: str, session: str, page: str, query: Mapping[str, str]) -> View:
        """Set the room's view (presenter only); counts a finished run even when nothing changed."""
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
            return room.view

    def heartbeat(self, code: str, session: str) -> int:
        """The presenter is still there; returns the number of followers."""
        with self._lock:
            room = self._presenter_room(code, session)
            room.presenter_seen = self.clock()
            return self._count(room)

    def close(self, code: str, session: str) -> None:
        with self._lock:
            self._presenter_room(code, session)
            self._end(code, "the presenter closed it")

    def presents(self, session: str) -> str | None:
        """The code of the open room this session presents, if any."""
        with self._lock:
            self._sweep()
            return next((r.code for r in self._rooms.values() if r.presenter == session), None)

    # ---- followers ----
    def follow(self, code: str, session: str) -> View:
        """The room's current view for a follower (who is counted until it stops polling or leaves)."""
        with self._lock:
            room = self._room(code)
            if session != room.presenter:
                room.followers[session] = self.clock()
            return room.view

    def leave(self, code: str, session: str) -> None:
        with self._lock:
            room = self._rooms.get(code)
            if room is not None:
                room.followers.pop(session, None)

    def followers(self, code: str) -> int:
        with self._lock:
            return self._count(self._room(code))

    # ---- internals ----
    def _count(self, room: Room) -> int:
        now = self.clock()
        for sid, seen in list(room.followers.items()):
            if now - seen > self.follower_ttl_s:
                del room.followers[sid]
        return len(room.followers)

    def _room(self, code: str) -> Room:
        self._sweep()
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

    def _end(self, code: str, why: str) -> None:
        self._rooms.pop(code, None)
        self._ended[code] = why
        while len(self._ended) > 1000:
            self._ended.popitem(last=False)

    def _sweep(self) -> None:
        now = self.clock()
        for code, room in list(self._rooms.items()):
            if now - room.presenter_seen > self.presenter_timeout_s or (
                    self.alive is not None and not self.alive(room.presenter)):
                self._end(code, "the presenter left")
            elif now - room.changed > self.idle_s:
                self._end(code, f"nothing changed for {self.idle_s / 60:g} minutes")


REGISTRY = RoomRegistry()
