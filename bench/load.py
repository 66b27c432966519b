"""Load test: the real app (`streamlit run app.py`) driven by N simulated users in real Chromium contexts.

Each user loops for M minutes over a realistic mix: open pages, the logit lens on new prompts, ablations,
scans of small corpus slices and neuron clicks. Reported: p50/p95 latency of the interactive actions, errors
(error boxes, exceptions, JavaScript errors, timeouts: must be 0), the server's resident memory after
warm-up and at the end (flat within 10 %), Looking Glass hooks left on the models once idle (must be 0, read
from the server's opt-in LOOKING_GLASS_STATS_FILE), and with --contention the lens p95 alone and while 3
other users run whole-book scans (target <= 2x).

    python -m bench.load --users 4 --minutes 1 [--contention] [--json out.json]

The server gets a private LOOKING_GLASS_CACHE whose `models` folder links to the shared converted models,
so scans really run (nothing comes from an earlier scan cache). Needs Playwright and /usr/bin/chromium.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.e2e_helpers import (CHROMIUM, LAUNCH_ARGS, NAV_LINKS, Server, free_port, healthy,  # noqa: F401
                                   private_cache, start_server)

ACTION_TIMEOUT_S = 300
WARMUP_TIMEOUT_S = 1800  # server start, model load and the background warm-up (slow on a busy 2-core machine)
VERBOSE = bool(os.environ.get("LG_LOAD_VERBOSE"))
MIX = (("open_page", 0.25), ("lens", 0.35), ("ablation", 0.2), ("scan", 0.1), ("neuron", 0.1))
PAGES = ("home", "logit_lens", "ablation", "neuron_explorer", "distributions")
WORDS = ("Alice", "the Queen", "a knight", "the White Rabbit", "Humpty Dumpty", "a teacup", "the garden", "a mirror",
         "the chessboard", "a lion", "the unicorn", "a train", "the sheep", "a shop", "the river", "a crown")
ERROR_JS = """() => document.querySelectorAll('[data-testid="stException"], [data-testid="stAlertContentError"]').length"""
RUNNING_JS = """() => { const w = document.querySelector('[data-testid="stStatusWidget"]');
  return !!w && /Running|Stop/.test(w.innerText); }"""


# --- the server: the e2e tests' harness ----------------------------------------------------------------------------
def start_load_server(tmp: Path, workshop: bool = True) -> Server:
    """The app on a private cache (scans really run) that writes its status file, as a shared server runs."""
    env = {"LOOKING_GLASS_CACHE": str(private_cache(tmp)), **({"LOOKING_GLASS_WORKSHOP": "1"} if workshop else {})}
    return start_server(tmp, env, stats=True, healthy_s=90)


# --- one simulated user ------------------------------------------------------------------------------
@dataclass
class Sample:
    user: int
    action: str
    seconds: float
    ok: bool
    error: str = ""


@dataclass
class User:
    uid: int
    page: object
    url: str
    rng: random.Random
    samples: list[Sample] = field(default_factory=list)
    js_errors: list[str] = field(default_factory=list)
    where: str = ""
    scanned: bool = False
    n: int = 0

    async def idle(self, timeout_s: float = ACTION_TIMEOUT_S) -> None:
        """Wait until the script run this action started has finished (it may be too quick to be seen)."""
        pg = self.page
        t_end = time.monotonic() + 1.0
        while time.monotonic() < t_end and not await pg.evaluate(RUNNING_JS):
            await asyncio.sleep(0.05)
        await pg.wait_for_function(f"() => !({RUNNING_JS})()", timeout=timeout_s * 1000, polling=100)

    async def goto(self, path: str, query: str = "") -> None:
        await self.page.goto(f"{self.url}/{path}{'?' + query if query else ''}")
        await self.page.get_by_test_id("stSidebar").wait_for(timeout=ACTION_TIMEOUT_S * 1000)
        await self.idle()
        if await self.page.get_by_text("Page not found").count():  # Streamlit's modal on some deep links
            await self.page.keyboard.press("Escape")
            await self.idle()
        self.where = path

    async def nav(self, path: str) -> None:
        """Switch pages inside the session (the sidebar link), as a person does."""
        if self.where == path:
            return
        link = self.page.locator(f'{NAV_LINKS}[href$="/{path}"]')
        if await link.count():
            await link.first.click()
            await self.idle()
            self.where = path
        else:
            await self.goto(path)

    def prompt(self) -> str:
        self.n += 1
        a, b, c = self.rng.sample(WORDS, 3)
        return f"{a} met {b} near {c} and then user {self.uid} saw number {self.n} of"

    async def act(self, action: str) -> None:
        pg = self.page
        t0 = time.monotonic()
        err, step = "", action
        try:
            if action == "open_page":
                await self.nav(self.rng.choice([p for p in PAGES if p != self.where]))
            elif action == "lens":
                step = "open the lens page"
                await self.nav("logit_lens")
                box = pg.locator(".st-key-ll_prompt input")
                t0 = time.monotonic()
                step = "type a prompt"
                await box.fill(self.prompt())
                await box.press("Enter")
                await self.idle()
                run = pg.get_by_role("button", name="Run the logit lens")  # over the automatic budget: click it
                if await run.count() and await run.first.is_visible():
                    step = "run the lens by its button"
                    await run.first.click()
                    await self.idle()
                step = "wait for the lens chart"
                await self.chart_or_error(".st-key-ll_heatmap .js-plotly-plot")
            elif action == "ablation":
                await self.nav("ablation")
                box = pg.locator(".st-key-ab_prompt textarea")
                t0 = time.monotonic()
                await box.fill(self.prompt())
                await box.press("Control+Enter")
                await self.idle()
                run = pg.get_by_role("button", name="Run ablation")
                if await run.count() and await run.first.is_visible():
                    await run.first.click()
                    await self.idle()
            elif action == "scan":  # a small slice of the built-in book at a random layer: a real scan
                layer, tokens = self.rng.randrange(0, 18), self.rng.choice((1024, 2048, 3072))
                t0 = time.monotonic()
                await self.scan(layer, tokens)
            elif action == "neuron":
                if not self.scanned:
                    await self.scan(self.rng.randrange(0, 18), 1024)
                else:  # back to the explorer (this session keeps its scan): the neuron box is there again
                    await self.nav("neuron_explorer")
                box = pg.locator(".st-key-ne_neuron input")
                t0 = time.monotonic()
                await box.fill(str(self.rng.randrange(0, 640)))
                await box.press("Enter")
                await self.idle()
            n_err = await pg.evaluate(ERROR_JS)
            if n_err:
                err = (await pg.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
                       .first.inner_text())[:300]
        except Exception as e:  # noqa: BLE001 - a timeout or a vanished element is an error of the run
            err = f"{step}: {e.__class__.__name__}: {str(e).splitlines()[0][:200]}"
        self.samples.append(Sample(self.uid, action, time.monotonic() - t0, not err, err))
        if VERBOSE:
            print(f"user {self.uid:3d} {action:10s} {self.samples[-1].seconds:7.2f} s {err}", file=sys.stderr, flush=True)

    async def chart_or_error(self, selector: str) -> None:
        """Wait until `selector` (a chart) or an error is on the page; an error ends the wait at once (the
        caller reads it), instead of waiting out the timeout for a chart that will not come."""
        sel = json.dumps(selector)
        await self.page.wait_for_function(
            f"() => document.querySelector({sel}) !== null || ({ERROR_JS})() > 0",
            timeout=ACTION_TIMEOUT_S * 1000, polling=250)

    async def scan(self, layer: int, tokens: int) -> None:
        """Open the neuron explorer on (layer, token limit) and scan, clicking 'Scan layer' if it waits for it."""
        await self.goto("neuron_explorer", f"ne_layer={layer}&ne_maxtok={tokens}")
        # the result (a cached or automatic scan) or the button (a scan over the page's automatic budget)
        await self.page.wait_for_function(
            "() => document.body.innerText.includes('neurons of') || Array.from(document.querySelectorAll('button'))"
            ".some(b => b.innerText.trim() === 'Scan layer')", timeout=ACTION_TIMEOUT_S * 1000, polling=250)
        if not await self.page.get_by_text("neurons of").count():
            await self.page.get_by_role("button", name="Scan layer", exact=True).first.click()
            await self.idle()
        await self.page.get_by_text("neurons of").first.wait_for(timeout=ACTION_TIMEOUT_S * 1000)
        self.scanned = True

    async def run_mix(self, until: float) -> None:
        names, weights = zip(*MIX)
        while time.monotonic() < until:
            await self.act(self.rng.choices(names, weights)[0])
            await asyncio.sleep(self.rng.uniform(0.5, 2.0))  # think time


# --- the run ------------------------------------------------------------------------------------------
def traceback_samples(log: str, n: int = 3, lines: int = 14) -> list[str]:
    """The first `n` tracebacks in the server log, each with the log line before it and its last `lines` lines,
    so a failed run says what went wrong on the server."""
    out, rows = [], log.splitlines()
    for i, row in enumerate(rows):
        if row.startswith("Traceback") and len(out) < n:
            end = i + 1
            while end < len(rows) and (rows[end].startswith((" ", "\t")) or not rows[end].strip()):
                end += 1
            body = rows[i:end + 1]
            short = body if len(body) <= lines + 2 else body[:2] + ["  …"] + body[-lines:]
            out.append("\n".join(rows[max(i - 1, 0):i] + short))
    return out


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))]


async def new_user(browser, url: str, uid: int) -> User:
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await ctx.new_page()
    page.set_default_timeout(ACTION_TIMEOUT_S * 1000)
    u = User(uid, page, url, random.Random(1000 + uid))
    page.on("pageerror", lambda e: u.js_errors.append(str(e)))
    await page.goto(f"{url}/logit_lens")
    await page.get_by_test_id("stSidebar").wait_for(timeout=WARMUP_TIMEOUT_S * 1000)
    await u.idle(WARMUP_TIMEOUT_S)
    u.where = "logit_lens"
    return u


async def contention(browser, url: str, n_lens: int) -> dict:
    """Lens p95 alone, then while 3 other users scan the whole built-in book (uncached, distinct layers)."""
    lens = await new_user(browser, url, 900)
    for _ in range(n_lens):
        await lens.act("lens")
    solo = [s.seconds for s in lens.samples if s.ok]
    scanners = [await new_user(browser, url, 901 + i) for i in range(3)]
    lens.samples.clear()
    tasks = [asyncio.create_task(s.scan(layer, 0)) for s, layer in zip(scanners, (3, 9, 15))]
    await asyncio.sleep(3)  # let the scans get going
    for _ in range(n_lens):
        await lens.act("lens")
    busy = [s.seconds for s in lens.samples if s.ok]
    scans_running = sum(not t.done() for t in tasks)
    done, pending = await asyncio.wait(tasks, timeout=ACTION_TIMEOUT_S)
    scan_errors = [repr(t.exception()) for t in done if t.exception()] + ["scan timed out"] * len(pending)
    for t in pending:
        t.cancel()
    for u in (lens, *scanners):
        await u.page.context.close()
    p_solo, p_busy = pct(solo, 95), pct(busy, 95)
    return {"lens_solo_p95_s": p_solo, "lens_with_3_scans_p95_s": p_busy,
            "ratio": None if not p_solo or p_busy is None else p_busy / p_solo,
            "scans_still_running_after_lens": scans_running, "lens_errors": sum(not s.ok for s in lens.samples),
            "scan_errors": scan_errors, "n_lens": n_lens}


async def main_async(args) -> dict:
    from playwright.async_api import async_playwright

    tmp = Path(tempfile.mkdtemp(prefix="lg-load-"))
    server = start_load_server(tmp, workshop=not args.no_workshop)
    report: dict = {"users": args.users, "minutes": args.minutes, "cpu_count": os.cpu_count()}
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
            t0 = time.monotonic()
            warm = await new_user(browser, server.url, 0)  # loads the model once, waits out the background warm-up
            await warm.page.locator(".js-plotly-plot").first.wait_for(timeout=WARMUP_TIMEOUT_S * 1000)
            await warm.page.context.close()
            report["warmup_s"] = round(time.monotonic() - t0, 1)
            report["idle_before"] = await asyncio.to_thread(server.wait_idle)  # the background warm-up ends
            rss_start = server.rss()
            users = await asyncio.gather(*(new_user(browser, server.url, i + 1) for i in range(args.users)))
            until = time.monotonic() + args.minutes * 60
            await asyncio.gather(*(u.run_mix(until) for u in users))
            for u in users:
                await u.page.context.close()
            if args.contention:
                report["contention"] = await contention(browser, server.url, args.contention_lens)
            await browser.close()
        report["idle_after"] = server.wait_idle()  # every run has ended (the stats file is rewritten every second)
        stats = server.read_stats()
        rss_end = server.rss()
        samples = [s for u in users for s in u.samples]
        inter = [s.seconds for s in samples if s.ok and s.action != "scan"]
        report.update({
            "actions": len(samples),
            "by_action": {a: {"n": sum(s.action == a for s in samples),
                              "p50_s": pct([s.seconds for s in samples if s.action == a and s.ok], 50),
                              "p95_s": pct([s.seconds for s in samples if s.action == a and s.ok], 95)}
                          for a, _ in MIX},
            "interactive_p50_s": pct(inter, 50), "interactive_p95_s": pct(inter, 95),
            "errors": sum(not s.ok for s in samples) + sum(len(u.js_errors) for u in users),
            "error_samples": [f"{s.action}: {s.error}" for s in samples if not s.ok][:10]
                             + [e[:200] for u in users for e in u.js_errors][:5],
            "rss_start_mb": round(rss_start / 2**20, 1), "rss_end_mb": round(rss_end / 2**20, 1),
            "rss_change": round(rss_end / rss_start - 1, 4) if rss_start else None,
            "leaked_hooks": stats.get("hooks"), "models_in_memory": stats.get("models"),
            "jobs_left": stats.get("jobs"),
        })
        log = server.log.read_text(errors="replace")
        report["server_tracebacks"] = log.count("Traceback")
        report["traceback_samples"] = traceback_samples(log)
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            report["tmp"] = str(tmp)
    return report


def format_report(r: dict) -> str:
    def s(v):
        return "–" if v is None else f"{v:.2f} s"
    lines = [f"Load test: {r['users']} users for {r['minutes']} min on {r['cpu_count']} CPUs "
             f"(warm-up {r.get('warmup_s')} s)",
             f"  actions {r['actions']}, interactive p50 {s(r['interactive_p50_s'])}, p95 {s(r['interactive_p95_s'])}",
             f"  errors {r['errors']}, server tracebacks {r['server_tracebacks']}, leaked hooks {r['leaked_hooks']}",
             f"  RSS {r['rss_start_mb']} MB -> {r['rss_end_mb']} MB ({(r['rss_change'] or 0) * 100:+.1f} %)"]
    for a, v in r["by_action"].items():
        lines.append(f"    {a:10s} n={v['n']:3d}  p50 {s(v['p50_s'])}  p95 {s(v['p95_s'])}")
    for e in r.get("error_samples", []):
        lines.append(f"  error: {e}")
    for tb in r.get("traceback_samples", []):
        lines.append("  server traceback:\n" + "\n".join("    " + x for x in tb.splitlines()))
    if "contention" in r:
        c = r["contention"]
        lines.append(f"  lens p95 solo {s(c['lens_solo_p95_s'])}, with 3 whole-book scans {s(c['lens_with_3_scans_p95_s'])}"
                     f" (x{c['ratio']:.2f})" if c["ratio"] else "  contention: no ratio")
    return "\n".join(lines)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=4)
    ap.add_argument("--minutes", type=float, default=1.0)
    ap.add_argument("--contention", action="store_true", help="also measure lens p95 alone vs during 3 book scans")
    ap.add_argument("--contention-lens", type=int, default=6, help="lens runs in each contention phase")
    ap.add_argument("--no-workshop", action="store_true", help="run the server without workshop mode")
    ap.add_argument("--json", default=None, help="also write the report here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary cache and server log")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    report = asyncio.run(main_async(args))
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0 if report["errors"] == 0 and not report["leaked_hooks"] else 1


if __name__ == "__main__":
    sys.exit(main())
