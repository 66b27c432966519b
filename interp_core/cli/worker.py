"""A resident CLI worker: one process keeps torch, transformers and the loaded models in memory, and
`python -m interp_core …` calls hand it their arguments over a Unix socket. A fresh process pays ~10 s of
imports and loading on a 2-core CPU before it computes anything (bench/RESULTS.md); a call served by a warm
worker starts in a fraction of a second. Opt-in: `python -m interp_core worker start` (stop, status;
the process side is worker_server.py).

The client side (`forward`) uses the standard library only, so it never imports torch. The worker serves one
call at a time (each call's stdout and stderr go to its own client) and gives the same output and exit status
as running in-process. A call whose Python, Looking Glass code or result-changing environment differs from the
worker's runs in its own process instead, with a one-line note on stderr.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import tempfile
from pathlib import Path

ENV_PREFIXES = ("LOOKING_GLASS_", "HF_", "TRANSFORMERS_", "TORCH_", "PYTORCH_", "CUDA_", "OMP_", "MKL_")
OFF_ENV = "LOOKING_GLASS_WORKER"  # "0": never use a running worker (every call in its own process)
START_TIMEOUT_S = 300.0  # imports + loading the default model on a slow machine
PACKAGE = Path(__file__).resolve().parents[1]


# --- what must match for a worker to serve a call -------------------------------------------------------
def relevant_env(environ=os.environ) -> dict[str, str]:
    """The environment variables that can change a result (settings, hub, threads, devices)."""
    return {k: v for k, v in sorted(environ.items()) if k.startswith(ENV_PREFIXES) and k != OFF_ENV}


def code_stamp() -> str:
    """The Looking Glass code this process runs: its folder, and the size and mtime of every module in it."""
    h = hashlib.sha256(str(PACKAGE).encode())
    for p in sorted(PACKAGE.rglob("*.py")):
        st = p.stat()
        h.update(f"{p.relative_to(PACKAGE)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


def identity() -> dict:
    return {"python": sys.executable, "code": code_stamp(), "env": relevant_env()}


SOCKET_ENV = "LOOKING_GLASS_WORKER_SOCKET"  # another socket (e.g. a benchmark's own worker beside a user's)


def socket_path() -> Path:
    """Where the worker of this cache listens (the cache folder, or the temp folder when that path is too long
    for a Unix socket); LOOKING_GLASS_WORKER_SOCKET names another."""
    from interp_core.settings import load_settings

    if os.environ.get(SOCKET_ENV):
        return Path(os.environ[SOCKET_ENV])

    cache = load_settings().cache_dir
    path = cache / "cli-worker.sock"
    if len(os.fsencode(path)) < 100:
        return path
    tag = hashlib.sha256(os.fsencode(cache.resolve())).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"looking-glass-{os.getuid()}-{tag}.sock"


def mismatch(req: dict, mine: dict) -> str | None:
    if req.get("python") != mine["python"]:
        return f"it runs {mine['python']}"
    if req.get("code") != mine["code"]:
        return "it runs other Looking Glass code; restart it with `python -m interp_core worker restart`"
    if req.get("env") != mine["env"]:
        keys = sorted(set(req.get("env", {}).items()) ^ set(mine["env"].items()))
        return "its environment differs in " + ", ".join(dict.fromkeys(k for k, _ in keys))
    return None


# --- the wire: one JSON object per line --------------------------------------------------------------------
def send(conn: socket.socket, obj: dict) -> None:
    """One JSON object, one line."""
    conn.sendall((json.dumps(obj) + "\n").encode("utf-8"))


def lines(conn: socket.socket):
    """The JSON objects a peer sends, one per line, until it closes."""
    buf = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield json.loads(line)


def _connect(path: Path, timeout: float | None = 5.0) -> socket.socket | None:
    if not path.exists():
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(timeout)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        return None
    return conn


def ask(op: str, path: Path | None = None, timeout: float = 5.0) -> dict | None:
    """One request without a command (ping, stop); None when no worker answers."""
    conn = _connect(path or socket_path(), timeout)
    if conn is None:
        return None
    try:
        send(conn, {"op": op})
        return next(lines(conn), None)
    except (OSError, ValueError):
        return None
    finally:
        conn.close()


# --- client ----------------------------------------------------------------------------------------------
def forward(argv: list[str]) -> int | None:
    """Run `argv` on the resident worker if one is up and matches this process; its exit status, or None to
    run in this process (no worker, a mismatch, or a worker command)."""
    if os.environ.get(OFF_ENV, "").strip() == "0" or not argv or argv[0] == "worker":
        return None
    conn = _connect(socket_path())
    if conn is None:
        return None
    try:
        send(conn, {"op": "run", "argv": argv, "cwd": os.getcwd(), **identity()})
        conn.settimeout(None)  # a command may run for hours
        for msg in lines(conn):
            if "refuse" in msg:
                print(f"note: not using the resident worker ({msg['refuse']}); running in this process.",
                      file=sys.stderr)
                return None
            if "out" in msg:
                sys.stdout.write(msg["out"])
                sys.stdout.flush()
            elif "err" in msg:
                sys.stderr.write(msg["err"])
                sys.stderr.flush()
            elif "exit" in msg:
                return int(msg["exit"])
        print("error: the resident worker closed the connection before the command ended "
              "(see `python -m interp_core worker status`).", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # closing the socket makes the worker's next output fail, which stops the command
        print("error: interrupted.", file=sys.stderr)
        return 130
    except OSError as e:
        print(f"error: lost the resident worker: {e}", file=sys.stderr)
        return 1
    finally:
        conn.close()


