"""Presenter-to-follower delay in a workshop room: a presenter in Chromium changes a step of the logit lens's URL
state (the heatmap's colouring: no new computation) and switches pages (lens <-> ablation playground, results
from the shared cache); reported per change: when the presenter's browser shows it, and when each follower has.

Two kinds of followers:
- `--followers 1,10`: Chromium tabs (one context each) that note, in the page itself, when their URL and chart
  show the change. Here the browsers draw on the server's own 2 cores; in a workshop each has its own machine.
- `--clients 10,30`: followers that speak Streamlit's protocol over a WebSocket as a tab does, without drawing
  (bench/room_clients.py): when each has received the view, so the server's delivery is timed without ten
  browsers taking its cores.
With a server of its own, the bench waits for the warm-up first (a presenter opens the room on a ready server) and
also reads the server's times from its status file: the presenter's run publishing the change, and each follower's
run having sent it. `estimate` adds one browser's own drawing (the 1-follower Chromium room: shown after its run
was done) to the clients' delivery: what each follower on its own machine would see.

    python bench/room_delay.py --followers 1,10 --clients 10,30 [--changes 4] [--url http://127.0.0.1:8501] [--json]

Without --url a fresh server is started on the embedded Gemma 3 270M (tests/e2e/e2e_helpers.py's harness).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.room_clients import Clients
from tests.e2e.e2e_helpers import CHROMIUM, LAUNCH_ARGS, open_app, result_or_click, start_server
from tests.e2e.room_helpers import (join, nav, new_page, on_view, open_room, pick_radio, seen_at, wait_count,
                                    watch)

LENS = "Top-1 prediction at every layer and position"
ABLATION = "KL(clean ‖ ablated)"
COLOURS = (("zscore", "top-1 z-score"), ("probability", "top-1 probability"))


def server_side(server, code: str, t0: float, n: int, timeout_s: float = 30) -> dict | None:
    """The server's times for the first view change of room `code` published after `t0` (None without a status
    file): published after the action, and each follower's run done after the publish."""
    if server is None or server.stats is None:
        return None
    end = time.time() + timeout_s
    while time.time() < end:
        stats = server.read_stats()
        if stats and "rooms" not in stats:  # a server from before the rooms' times were recorded
            return None
        room = next((r for r in stats.get("rooms", []) if r["room"] == code), None)
        change = next((c for c in (room or {}).get("changes", []) if c["published"] >= t0), None)
        if change is not None and len(change["shown"]) >= n:
            return {"published_s": change["published"] - t0,
                    "followers_done_s": [t - change["published"] for t in change["shown"]]}
        time.sleep(0.3)
    return None


class Tabs:
    """Chromium followers, each in its own browser context."""

    def __init__(self, browser, url: str, code: str, n: int) -> None:
        self.pages = join(browser, url, code, n)

    def on_view(self, path: str, marker: str) -> None:
        for pg in self.pages:
            on_view(pg, path, marker)

    def watch(self, path: str, needle: str, marker: str) -> None:
        watch(self.pages, path, needle, marker)

    def seen(self) -> list[float]:
        return seen_at(self.pages)

    def close(self) -> None:
        for pg in self.pages:
            pg.context.close()


class Protocol:
    """Followers as WebSocket clients (bench/room_clients.py)."""

    def __init__(self, url: str, code: str, n: int) -> None:
        self.clients = Clients(url, code, n)
        self.clients.wait_following()
        self.watches: list = []

    def on_view(self, path: str, marker: str) -> None:
        self.watch(path, "", marker)
        self.seen()

    def watch(self, path: str, needle: str, marker: str) -> None:
        self.watches = self.clients.watch(path, needle, marker)

    def seen(self, timeout_s: float = 120) -> list[float]:
        end = time.time() + timeout_s
        while any(w.seen is None for w in self.watches):
            if time.time() > end:
                raise TimeoutError(f"{sum(w.seen is None for w in self.watches)} clients never had the view")
            time.sleep(0.02)
        return [w.seen for w in self.watches]

    def close(self) -> None:
        self.clients.close()


def one_room(browser, url: str, n: int, changes: int, server=None, clients: bool = False) -> dict:
    pres, code = open_room(browser, url)
    followers = Protocol(url, code, n) if clients else Tabs(browser, url, code, n)
    wait_count(pres, n)
    nav(pres, "Logit lens")
    result_or_click(pres, "Run the logit lens", LENS)
    followers.on_view("/logit_lens", LENS)

    def timed(act, path: str, needle: str, marker: str) -> dict:
        watch([pres], path, needle, marker)
        followers.watch(path, needle, marker)
        t0 = time.time()
        act(pres)
        shown = seen_at([pres])[0]
        seen = followers.seen()
        return {"presenter_s": shown - t0, "followers_s": [t - t0 for t in seen],
                "lag_after_presenter_s": [t - shown for t in seen], "server": server_side(server, code, t0, n)}

    steps, pages = [], []
    for i in range(changes):
        value, label = COLOURS[i % 2]
        steps.append(timed(lambda p, lab=label: pick_radio(p, "Colour by", lab), "/logit_lens", f"ll_color={value}",
                           f"colour: {label}"))
    nav(pres, "Ablation playground")  # the first visit may compute; not timed
    result_or_click(pres, "Run ablation", ABLATION)
    followers.on_view("/ablation", ABLATION)
    for _ in range(max(1, changes // 2)):
        pages.append(timed(lambda p: nav(p, "Logit lens"), "/logit_lens", "", LENS))
        pages.append(timed(lambda p: nav(p, "Ablation playground"), "/ablation", "", ABLATION))
    pres.context.close()
    followers.close()

    def summary(rows: list[dict]) -> dict:
        lags = [x for r in rows for x in r["lag_after_presenter_s"]]
        every = [max(r["followers_s"]) for r in rows]  # the last follower of each change, from the action
        out = {"changes": len(rows), "presenter_median_s": statistics.median(r["presenter_s"] for r in rows),
               "all_followers_median_s": statistics.median(every), "all_followers_max_s": max(every),
               "lag_after_presenter_median_s": statistics.median(lags), "lag_after_presenter_max_s": max(lags)}
        srv = [(r["server"], r) for r in rows if r["server"] is not None]
        if srv:  # the server's share: the last follower's run done, after the presenter's run published the change
            last = [max(s["followers_done_s"]) for s, _ in srv]
            out.update({"server_published_median_s": statistics.median(s["published_s"] for s, _ in srv),
                        "server_all_followers_done_median_s": statistics.median(last),
                        "server_all_followers_done_max_s": max(last),
                        # what the last follower's browser took after its run was done (its own drawing)
                        "drawn_after_server_median_s": statistics.median(
                            max(r["followers_s"]) - s["published_s"] - max(s["followers_done_s"]) for s, r in srv)})
        return out
    return {"followers": n, "kind": "protocol clients" if clients else "chromium", "step": summary(steps),
            "page": summary(pages)}


def estimate(rooms: list[dict]) -> dict:
    """Each client room's delivery plus one Chromium follower's own drawing (its 1-follower room)."""
    one = next((r for r in rooms if r["kind"] == "chromium" and r["followers"] == 1), None)
    if one is None or "drawn_after_server_median_s" not in one["step"]:
        return {}
    out = {}
    for r in rooms:
        if r["kind"] != "chromium":
            for what in ("step", "page"):
                draw = one[what]["drawn_after_server_median_s"]
                out[f"{r['followers']}_clients_{what}"] = {
                    "one_browser_draws_s": draw,
                    "every_follower_shows_median_s": r[what]["all_followers_median_s"] + draw,
                    "every_follower_shows_max_s": r[what]["all_followers_max_s"] + draw}
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--followers", default="1,10", help="Chromium follower counts, comma-separated (default 1,10)")
    p.add_argument("--clients", default="", help="protocol-client follower counts, comma-separated (e.g. 10,30)")
    p.add_argument("--changes", type=int, default=4, help="URL-state steps per room (and half as many page pairs)")
    p.add_argument("--url", help="an app already running (else a fresh server is started)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    from playwright.sync_api import sync_playwright

    server = None
    url = a.url
    out: dict = {"rooms": []}
    if url is None:
        server = start_server(Path(tempfile.mkdtemp(prefix="lg-rooms-")), stats=True)
        url = server.url
    out["load_avg_before"] = os.getloadavg()  # (the rooms' own load: each room's load_avg)
    plan = [(int(x), False) for x in a.followers.split(",") if x] + [(int(x), True) for x in a.clients.split(",") if x]
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
            if server is not None:  # the first session starts the warm-up and the status file; wait for both
                t = time.perf_counter()
                first = new_page(browser)
                open_app(first, url)
                out["server_ready"] = server.wait_idle(timeout_s=600)
                out["warmup_wait_s"] = time.perf_counter() - t
                first.context.close()
            for n, clients in plan:
                t = time.perf_counter()
                room = one_room(browser, url, n, a.changes, server, clients)
                out["rooms"].append({**room, "wall_s": time.perf_counter() - t, "load_avg": os.getloadavg()})
            browser.close()
    finally:
        if server is not None:
            server.stop()
    out["estimate"] = estimate(out["rooms"])
    out["load_avg_after"] = os.getloadavg()
    print(json.dumps(out, indent=1 if a.json else None))
    return out


if __name__ == "__main__":
    main()
