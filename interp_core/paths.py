"""Safe opening of user-named local paths (model folders, corpus files) on a shared server.

The policy: explicit `roots=` > the roots the web app set for the current script run (`restrict_to`)
> LOOKING_GLASS_ALLOWED_ROOTS > unrestricted (CLI on a personal machine). Checks run before anything
is read; with roots, `~`, `..`, symlinks leading out of the roots and hidden folders or files inside
them (`.git`, `.venv`, `.env`, …) are refused.
"""
from __future__ import annotations

import contextvars
from pathlib import Path

from interp_core.errors import UserError
from interp_core.settings import load_settings

_RUN_ROOTS: contextvars.ContextVar[tuple[Path, ...] | None] = contextvars.ContextVar("looking_glass_roots", default=None)


def restrict_to(roots) -> None:
    """Enforce `roots` for local paths opened from the current thread/context (the app calls this every run).

    Streamlit runs each script run in its own thread, which starts with a fresh context, so the
    restriction covers that run and never leaks into the CLI or other threads.
    """
    _RUN_ROOTS.set(tuple(Path(r).resolve() for r in roots))


def active_roots(roots=None) -> tuple[Path, ...]:
    """The roots that apply right now (empty tuple = unrestricted)."""
    if roots is not None:
        return tuple(Path(r).resolve() for r in roots)
    run = _RUN_ROOTS.get()
    if run is not None:
        return run
    return load_settings().allowed_roots


def shown(raw: str, limit: int = 80) -> str:
    """A user-typed path or name as it may appear in a one-line message: control characters made
    visible and long input cut (a 1,000,000-character paste must not come back in the error)."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in raw)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hidden_part(path: Path, roots) -> str | None:
    """The first hidden name ('.git', '.venv', …) in `path` below whichever root holds it, or None."""
    for r in roots:
        if path == r or r in path.parents:
            rel = path.relative_to(r).parts
            return next((p for p in rel if p.startswith(".")), None)
    return None


def check_local_path(raw: str, *, kind: str = "file", roots=None) -> Path:
    """Resolve a user-typed path, refusing `~`, `..` and anything outside the allowed roots.

    Runs before anything is read. With no roots in force (a personal CLI install), any existing
    path is allowed and `~` is expanded.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise UserError(f"The {kind} path is empty.")
    if "\x00" in raw:
        raise UserError(f"The {kind} path contains a NUL character.")
    raw = raw.strip()
    roots = active_roots(roots)
    if roots:
        if raw.startswith("~"):
            raise UserError(f"The {kind} path '{shown(raw)}' uses '~'; give a full path inside the allowed folders.")
        if ".." in Path(raw).parts:
            raise UserError(f"The {kind} path '{shown(raw)}' contains '..'; give a path inside the allowed folders.")
    path = Path(raw) if roots else Path(raw).expanduser()
    try:
        resolved = path.resolve()  # follows symlinks, so a link out of the roots is caught below
    except (OSError, RuntimeError) as e:  # symlink loops, over-long names
        raise UserError(f"The {kind} path '{shown(raw)}' cannot be resolved ({e.__class__.__name__}).") from e
    if roots and not any(resolved == r or r in resolved.parents for r in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise UserError(f"The {kind} path '{shown(raw)}' is outside the folders this server allows ({allowed}).")
    if roots and hidden_part(resolved, roots):
        raise UserError(f"The {kind} path '{shown(raw)}' is in a hidden folder or is a hidden file; "
                        "this server serves no hidden paths.")
    try:
        exists = resolved.exists()
    except OSError:
        exists = False
    if not exists:
        raise UserError(f"The {kind} path '{shown(raw)}' does not exist.")
    return resolved
