"""The Dockerfile (no Docker engine here, so checked statically): it copies what the app needs, installs
the pinned runtime, pre-converts the Gemma cache at build time and serves the app as a non-root user."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def test_copies_everything_the_app_imports_and_nothing_missing():
    copied = []
    for op, rest in _instructions():
        if op == "COPY":
            srcs = [a for a in rest.split() if not a.startswith("--")][:-1]
            for s in srcs:
                assert (ROOT / s).exists(), f"COPY source {s} does not exist"
                copied.append(s)
    for needed in ("app.py", "interp_core", "ui", "pages", "assets", ".streamlit", "requirements.txt"):
        assert needed in copied, f"{needed} is not copied into the image"
    ignored = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
               if ln.strip() and not ln.startswith("#")]
    assert not set(copied) & set(ignored), "a copied path is excluded by .dockerignore"


def test_build_preconverts_gemma_and_runs_unprivileged():
    ins = _instructions()
    ops = [op for op, _ in ins]
    runs = " ".join(rest for op, rest in ins if op == "RUN")
    assert "pip install -r requirements.txt" in runs
    assert "python -m interp_core info --model gemma-3-270m" in runs
    user_at = max(i for i, op in enumerate(ops) if op == "USER")
    convert_at = next(i for i, (op, rest) in enumerate(ins) if op == "RUN" and "gemma-3-270m" in rest)
    assert user_at < convert_at, "convert as the serving user so it owns the cache"
    assert dict(ins)["USER"] not in ("root", "0")
    cmd = dict(ins)["CMD"]
    assert "streamlit" in cmd and "app.py" in cmd and "8501" in cmd
    assert "EXPOSE" in ops and "HEALTHCHECK" in ops and "/_stcore/health" in DOCKERFILE
    assert "LOOKING_GLASS_ALLOWED_ROOTS" in DOCKERFILE and "LOOKING_GLASS_CACHE" in DOCKERFILE
    assert "trust_remote_code" not in DOCKERFILE and "playwright install" not in DOCKERFILE
