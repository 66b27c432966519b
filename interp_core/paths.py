"""Safe opening of user-named local paths (model folders, corpus files) on a shared server."""
from __future__ import annotations

from pathlib import Path

from .errors import UserError
from .settings import load_settings


def check_local_path(raw: str, *, kind: str = "file", roots=None) -> Path:
    """Resolve a user-typed path, refusing `~`, `..` and anything outside the allowed roots.

    Runs before anything is read. With no roots configured (a personal install), any readable
    path is allowed, but `~` and `..` are still refused when roots are set.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise UserError(f"The {kind} path is empty.")
    if "\x00" in raw:
        raise UserError(f"The {kind} path contains a NUL character.")
    roots = load_settings().allowed_roots if roots is None else tuple(Path(r).resolve() for r in roots)
    if roots:
        if raw.strip().startswith("~"):
            raise UserError(f"The {kind} path '{raw}' uses '~'; give a full path inside the allowed folders.")
        if ".." in Path(raw).parts:
            raise UserError(f"The {kind} path '{raw}' contains '..'; give a path inside the allowed folders.")
    path = Path(raw).expanduser() if not roots else Path(raw)
    resolved = path.resolve()  # follows symlinks, so a link out of the roots is caught below
    if roots and not any(resolved == r or r in resolved.parents for r in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise UserError(f"The {kind} path '{raw}' is outside the folders this server allows ({allowed}).")
    if not resolved.exists():
        raise UserError(f"The {kind} path '{raw}' does not exist.")
    return resolved
