"""The command line's front door (`python -m interp_core`, `looking-glass`): a call goes to the resident worker
when one serves this environment, else runs in this process. Standard library only until it runs locally."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from interp_core.cli import worker

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["worker"]:
        from interp_core.cli.worker_server import command

        return command(argv[1:])
    code = worker.forward(argv)
    if code is None:
        from interp_core.cli.main import main as run_here

        code = run_here(argv)
    return code
