"""Presenter-to-follower delay in a workshop room, in Chromium: a presenter and N followers (one browser context
each) on one server; the presenter changes a step of the logit lens's URL state (the heatmap's colouring: no new
computation) and switches pages (lens <-> ablation playground, results from the shared cache). Each follower's
page notes, in the page itself, when its URL and chart show the change; reported per change: the presenter's own
time to show it and every follower's time after the presenter's action.

    python bench/room_delay.py --followers 1,10 [--changes 4] [--url http://127.0.0.1:8501] [--json]

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

from tests.e2e.e2e_helpers import CHROMIUM, LAUNCH_ARGS, result_or_click, start_server
from tests.e2e.room_helpers import (change_and_time, join, nav, on_view, open_room, pick_radio, wait_count)

LENS = "Top-1 prediction at every layer and position"
ABLATION = "KL(clean ‖ ablated)"
COLOURS = (("zscore", "top-1 z-score"), ("probability", "top-1 probability"))


def one_room(browser, url: str, n: int, changes: int) -> dict:
    pres, code = open_room(browser, url)
    followers = join(browser, url, code, n)
    wait_count(pres, n)
    nav(pres, "Logit lens")
    result_or_click(pres, "Run the logit lens", LENS)
    for f in followers:
        on_view(f, "/logit_lens", LENS)
    steps, pages = [], []
    for i in range(changes):
        value, label = COLOURS[i % 2]
        steps.append(change_and_time(pres, followers, lambda p, lab=label: pick_radio(p, "Colour by", lab),
                                     "/logit_lens", f"ll_color={value}", f"colour: {label}"))
    nav(pres, "Ablation playground")  # the first visit may compute; not timed
    result_or_click(pres, "Run ablation", ABLATION)
    for f in followers:
        on_view(f, "/ablation", ABLATION)
    for _ in range(max(1, changes // 2)):
        pages.append(change_and_time(pres, followers, lambda p: nav(p, "Logit lens"), "/logit_lens", "", LENS))
        pages.append(change_and_time(pres, followers, lambda p: nav(p, "Ablation playground"), "/ablation", "",
                                     ABLATION))
    pres.context.close()
    for f in followers:
        f.context.close()

    def summary(rows: list[dict]) -> dict:
        lags = [x for r in rows for x in r["lag_after_presenter_s"]]
        every = [max(r["followers_s"]) for r in rows]  # the last follower of each change, from the action
        return {"changes": len(rows), "presenter_median_s": statistics.median(r["presenter_s"] for r in rows),
                "all_followers_median_s": statistics.median(every), "all_followers_max_s": max(every),
                "lag_after_presenter_median_s": statistics.median(lags), "lag_after_presenter_max_s": max(lags)}
    return {"followers": n, "step": summary(steps), "page": summary(pages)}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--followers", default="1,10", help="comma-separated follower counts (default 1,10)")
    p.add_argument("--changes", type=int, default=4, help="URL-state steps per room (and half as many page pairs)")
    p.add_argument("--url", help="an app already running (else a fresh server is started)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    from playwright.sync_api import sync_playwright

    server = None
    url = a.url
    if url is None:
        server = start_server(Path(tempfile.mkdtemp(prefix="lg-rooms-")))
        url = server.url
    out: dict = {"load_avg_before": os.getloadavg(), "rooms": []}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
            for n in (int(x) for x in a.followers.split(",")):
                t = time.perf_counter()
                out["rooms"].append({**one_room(browser, url, n, a.changes), "wall_s": time.perf_counter() - t,
                                     "load_avg": os.getloadavg()})
            browser.close()
    finally:
        if server is not None:
            server.stop()
    out["load_avg_after"] = os.getloadavg()
    print(json.dumps(out, indent=1 if a.json else None))
    return out


if __name__ == "__main__":
    main()
