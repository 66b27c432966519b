"""Server settings read from the environment (one place, so the UI, CLI and tests agree)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"


def _paths(value: str | None) -> tuple[Path, ...]:
    if not value:
        return ()
    return tuple(Path(p).expanduser().resolve() for p in value.split(os.pathsep) if p.strip())


@dataclass(frozen=True)
class Settings:
    cache_dir: Path  # LOOKING_GLASS_CACHE: converted models, scan results, downloaded books
    max_models: int  # LOOKING_GLASS_MAX_MODELS: models held in memory at once per process
    allowed_roots: tuple[Path, ...]  # LOOKING_GLASS_ALLOWED_ROOTS: folders local models/corpora may come from
    workshop_models: tuple[str, ...]  # LOOKING_GLASS_WORKSHOP_MODELS: if set, the only models offered/allowed
    default_model: str  # LOOKING_GLASS_DEFAULT_MODEL
    workshop: bool = False  # LOOKING_GLASS_WORKSHOP=1 or workshop models set: shared-server budgets apply
    max_long_jobs: int = 0  # LOOKING_GLASS_MAX_LONG_JOBS: long jobs (scans, sweeps) at once per server; 0 = no cap
    ray_address: str | None = None  # LOOKING_GLASS_RAY_ADDRESS: page scans are sharded over this Ray cluster

    @property
    def restricted(self) -> bool:
        """True when local paths must lie under `allowed_roots` (set for shared servers)."""
        return bool(self.allowed_roots)

    @property
    def cache_corpus_dirs(self) -> tuple[Path, ...]:
        """The only cache folders that hold corpora: `corpora/` (text the user places there) and `gutenberg/`
        (books the app downloaded). The rest of the cache (estimates.json, scans, models, …) is never a corpus."""
        return (self.cache_dir / "corpora", self.cache_dir / "gutenberg")

    @property
    def server_roots(self) -> tuple[Path, ...]:
        """Roots the web app enforces: the configured ones, else the built-in corpora and the cache.

        The app is a shared server, so it is never unrestricted, and never the app folder or the cwd
        (its README, .git or .venv are no corpus); the CLI (one person, own files) uses `allowed_roots`,
        which is empty unless configured.
        """
        if self.allowed_roots:
            return self.allowed_roots
        return tuple(dict.fromkeys(p.resolve() for p in (ASSETS_DIR / "corpora", self.cache_dir)))


def load_settings() -> Settings:
    cache = os.environ.get("LOOKING_GLASS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "looking-glass")
    try:
        max_models = max(1, int(os.environ.get("LOOKING_GLASS_MAX_MODELS", "2")))
    except ValueError:
        max_models = 2
    workshop = tuple(m.strip() for m in os.environ.get("LOOKING_GLASS_WORKSHOP_MODELS", "").split(",") if m.strip())
    flag = os.environ.get("LOOKING_GLASS_WORKSHOP", "").strip().lower() in ("1", "true", "yes", "on")
    try:
        long_jobs = max(0, int(os.environ.get("LOOKING_GLASS_MAX_LONG_JOBS", "") or (2 if flag or workshop else 0)))
    except ValueError:
        long_jobs = 2 if flag or workshop else 0
    return Settings(
        cache_dir=Path(cache).expanduser(),
        max_models=max_models,
        allowed_roots=_paths(os.environ.get("LOOKING_GLASS_ALLOWED_ROOTS")),
        workshop_models=workshop,
        default_model=os.environ.get("LOOKING_GLASS_DEFAULT_MODEL", "gemma-3-270m"),
        workshop=flag or bool(workshop),
        max_long_jobs=long_jobs,
        ray_address=os.environ.get("LOOKING_GLASS_RAY_ADDRESS", "").strip() or None,
    )
