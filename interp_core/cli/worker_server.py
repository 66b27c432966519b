"""The resident CLI worker's process side (see worker.py): listen on the socket, serve one call at a time with
its stdout and stderr sent to its client, keep the loaded models; and the `worker` command that starts, stops and
reports on it."""
from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from pathlib import Path

from interp_core.cli.worker import PACKAGE, START_TIMEOUT_S, ask, identity, lines, mismatch, send, socket_path


# --- server ----------------------------------------------------------------------------------------------
class _Stream:
    """A text stream that sends what is written to one client (stdout or stderr) as it comes."""

    def __init__(self, conn: socket.socket, key: str) -> None:
        self.conn, self.key = conn, key

    def write(self, s: str) -> int:
        if s:
            send(self.conn, {self.key: s})  # a client that left raises BrokenPipeError: the command stops
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def close(self) -> None:  # the CLI closes stderr after a broken pipe on stdout; the socket stays the worker's
        pass


def _run_call(conn: socket.socket, req: dict) -> int:
    import traceback

    from interp_core.cli import main as cli_main

    here = os.getcwd()
    out, err = _Stream(conn, "out"), _Stream(conn, "err")
    try:
        os.chdir(req["cwd"])
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                return int(cli_main.main(list(req["argv"])) or 0)
            except SystemExit as e:  # argparse: --help (0) and bad arguments (2)
                return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except (BrokenPipeError, ConnectionError):
                raise
            except Exception:  # noqa: BLE001 - what an in-process run would print; the worker goes on
                traceback.print_exc()
                return 1
    finally:
        os.chdir(here)


def serve(path: Path | None = None, preload: str | None = "default") -> None:
    """Listen on `path` until a stop request; `preload` loads that model (the settings' default) first."""
    import threading

    from interp_core.cli import main as cli_main  # torch and transformers arrive with the preloaded model

    path = path or socket_path()
    cli_main.RESIDENT = {}
    mine = identity()
    if preload:
        try:
            from interp_core.engine.allocator import settle_heap
            from interp_core.engine.loading import load_model, make_spec
            from interp_core.settings import load_settings

            spec = make_spec(load_settings().default_model if preload == "default" else preload)
            cli_main.RESIDENT[spec] = load_model(spec)
            settle_heap()  # the worker's later collections skip torch, transformers and the model
        except Exception as e:  # noqa: BLE001 - e.g. not prepared yet: the first call loads it
            print(f"worker: could not preload a model: {e}", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        if ask("ping", path) is not None:
            raise SystemExit(f"error: a worker already listens on {path}")
        path.unlink()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # the socket is this user's only
    try:
        srv.bind(str(path))
    finally:
        os.umask(old)
    srv.listen(16)
    one_at_a_time = threading.Lock()
    stopping = threading.Event()
    started = time.time()
    served = [0]

    def handle(conn: socket.socket) -> None:
        with conn:
            try:
                req = next(lines(conn), None)
                if req is None:
                    return
                op = req.get("op")
                if op == "ping":
                    send(conn, {"pid": os.getpid(), "since": started, "path": str(path), **mine,
                                 "models": [repr(s) for s in cli_main.RESIDENT or ()], "served": served[0]})
                elif op == "stop":
                    send(conn, {"stopping": os.getpid()})
                    stopping.set()
                    with socket.socket(socket.AF_UNIX) as wake:  # wake the accept loop
                        wake.connect(str(path))
                elif op == "run":
                    reason = mismatch(req, mine)
                    if reason:
                        send(conn, {"refuse": reason})
                        return
                    if not one_at_a_time.acquire(blocking=False):  # say why nothing happens yet
                        send(conn, {"err": "note: the resident worker is running another call; yours starts "
                                           "after it.\n"})
                        one_at_a_time.acquire()
                    try:
                        code = _run_call(conn, req)
                        served[0] += 1
                    finally:
                        one_at_a_time.release()
                    send(conn, {"exit": code})
            except (BrokenPipeError, ConnectionError, ValueError):
                pass  # the client left (or spoke nonsense): nothing to answer

    try:
        while not stopping.is_set():
            conn, _ = srv.accept()
            if stopping.is_set():
                conn.close()
                break
            threading.Thread(target=handle, args=(conn,), daemon=True).start()
    finally:
        srv.close()
        with contextlib.suppress(OSError):
            path.unlink()


# --- `python -m interp_core worker start|stop|restart|status|run` -----------------------------------------
def start(preload: str = "default", log: Path | None = None, timeout_s: float = START_TIMEOUT_S) -> dict:
    """Start a detached worker (if none answers) and wait until it answers; its ping reply."""
    import subprocess

    path = socket_path()
    info = ask("ping", path)
    if info is not None:
        return {**info, "already": True}
    log = log or path.with_suffix(".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "interp_core", "worker", "run", "--model", preload],
                                stdin=subprocess.DEVNULL,
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=str(PACKAGE.parent))
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        info = ask("ping", path)
        if info is not None:
            return {**info, "already": False, "log": str(log)}
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the worker exited (status {proc.returncode}); its log {log} ends:\n{tail}")
        time.sleep(0.2)
    raise RuntimeError(f"the worker did not answer within {timeout_s:.0f} s; see {log}")


def stop(timeout_s: float = 30.0) -> bool:
    """Ask the worker to stop and wait until its socket is gone; False when none was running."""
    path = socket_path()
    if ask("stop", path) is None:
        return False
    end = time.monotonic() + timeout_s
    while path.exists() and time.monotonic() < end:
        time.sleep(0.1)
    return True


def command(argv: list[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m interp_core worker",
                                description="A resident process that serves CLI calls with torch and the models loaded.")
    p.add_argument("action", choices=("start", "stop", "restart", "status", "run"),
                   help="start (detached), stop, restart, status, or run (in the foreground)")
    p.add_argument("--model", default="default",
                   help="the model to load when the worker starts (default: the settings' default model; none: no model)")
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    args = p.parse_args(argv)
    preload = None if args.model == "none" else args.model
    try:
        if args.action in ("stop", "restart"):
            was = stop()
            if args.action == "stop":
                print("stopped the resident worker." if was else "no resident worker was running.")
                return 0
        if args.action == "run":
            serve(preload=preload)
            return 0
        info: dict | None
        if args.action in ("start", "restart"):
            info = start(args.model)
            print(json.dumps(info) if args.json else
                  f"resident worker {'already running' if info.get('already') else 'started'}: pid {info['pid']}, "
                  f"socket {info['path']}")
            return 0
        info = ask("ping")
        if args.json:
            print(json.dumps(info or {"running": False}))
        elif info is None:
            print("no resident worker is running (start one: python -m interp_core worker start).")
        else:
            stale = mismatch(identity(), info)
            print(f"resident worker pid {info['pid']} up {time.time() - info['since']:.0f} s, socket {info['path']}, "
                  f"models: {', '.join(info['models']) or 'none'}"
                  + (f"; it would not serve this shell: {stale}" if stale else ""))
        return 0
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
