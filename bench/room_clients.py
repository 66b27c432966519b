"""Room followers without a browser: each is a WebSocket client speaking Streamlit's own protocol, as a browser
tab does (one `rerun_script` with `?follow=CODE`, then it only listens: a follower's runs are started by the
server). Each notes when its connection has received a view (the page, the URL state and a marker text in one
run), so the server's delivery to many followers is timed without many browsers drawing on the same cores.

Used by bench/room_delay.py (`--clients`): a real Chromium presenter, followers as clients.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import unquote_plus, urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg


@dataclass
class Watch:
    path: str  # the page's url path, e.g. "logit_lens"
    needle: str  # text the decoded query must contain
    marker: str  # text one element of the run must contain
    seen: float | None = None  # wall-clock time (time.time()) the view had arrived


@dataclass
class Follower:
    """One follower connection's view of its session: its page, query and the runs it receives."""

    url: str
    code: str
    pages: dict[str, str] = field(default_factory=dict)  # page script hash -> url path
    page: str = ""
    query: str = ""
    run_texts: list[str] = field(default_factory=list)  # the elements of the current run, as received
    marker_in_run: set[str] = field(default_factory=set)
    following: bool = False  # a run has shown "Following room"
    watch: Watch | None = None
    errors: list[str] = field(default_factory=list)

    def _check(self) -> None:
        w = self.watch
        if w is not None and w.seen is None and self.page.rstrip("/").endswith(w.path.strip("/")) \
                and w.needle in unquote_plus(self.query) and w.marker in self.marker_in_run:
            w.seen = time.time()

    def on_message(self, raw: bytes) -> None:
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.run_texts, self.marker_in_run = [], set()
        elif kind == "navigation":
            self.pages.update({p.page_script_hash: p.url_pathname for p in msg.navigation.app_pages})
            self.page = self.pages.get(msg.navigation.page_script_hash, self.page)
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "delta":
            text = raw.decode("utf-8", "ignore")
            self.run_texts.append(text)
            if "**Following** room" in text:  # (the sidebar's room box, in Markdown)
                self.following = True
            self._find([text])
        self._check()

    def _find(self, texts: list[str]) -> None:
        w = self.watch
        # (a plotly spec is JSON inside the message: there a marker's non-ASCII letters are escaped)
        if w is not None and any(w.marker in t or json.dumps(w.marker)[1:-1] in t for t in texts):
            self.marker_in_run.add(w.marker)

    def start_watch(self, w: Watch) -> None:
        """Watch for a view from now; the current run counts if it already shows it."""
        self.watch, self.marker_in_run = w, set()
        self._find(self.run_texts)
        self._check()


def _ws_url(http_url: str) -> str:
    parts = urlsplit(http_url)
    return f"ws://{parts.netloc}/_stcore/stream"


async def _run(f: Follower, stop: asyncio.Event) -> None:
    try:
        await _listen(f, stop)
    except Exception as e:  # noqa: BLE001 - a failed connection is reported by wait_following
        f.errors.append(f"{type(e).__name__}: {e}")


async def _listen(f: Follower, stop: asyncio.Event) -> None:
    from websockets.asyncio.client import connect

    async with connect(_ws_url(f.url), subprotocols=["streamlit"], max_size=None) as ws:  # type: ignore[list-item]
        back = BackMsg()
        back.rerun_script.query_string = f"follow={f.code}"
        back.rerun_script.page_script_hash = ""
        await ws.send(back.SerializeToString())
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=0.2)
            except TimeoutError:
                continue
            f.on_message(raw if isinstance(raw, bytes) else raw.encode())


class Clients:
    """N followers in one background event loop (a thread of the bench's process)."""

    def __init__(self, url: str, code: str, n: int) -> None:
        self.followers = [Follower(url, code.replace("-", "")) for _ in range(n)]
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def everyone() -> None:
            await asyncio.gather(*(_run(f, self.stop) for f in self.followers), return_exceptions=True)
        self.loop.run_until_complete(everyone())

    def wait_following(self, timeout_s: float = 120) -> None:
        end = time.time() + timeout_s
        while not all(f.following for f in self.followers):
            if time.time() > end:
                errors = sorted({e for f in self.followers for e in f.errors})
                raise TimeoutError(f"{sum(f.following for f in self.followers)} of {len(self.followers)} follow"
                                   f"{': ' + '; '.join(errors) if errors else ''}")
            time.sleep(0.1)

    def watch(self, path: str, needle: str, marker: str) -> list[Watch]:
        ws = [Watch(path, needle, marker) for _ in self.followers]
        for f, w in zip(self.followers, ws):
            self.loop.call_soon_threadsafe(f.start_watch, w)
        return ws

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=10)
