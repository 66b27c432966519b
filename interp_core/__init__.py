"""Looking Glass backend: load transformer LMs, hook canonical sites, run interpretability methods.

Never imports streamlit. The public API that pages and the CLI use is this facade (loading, specs, sites,
errors), the method rooms' packages (`interp_core.lens`, `.neurons`, `.distributions`, `.ablation`,
`.patching`, `.components`, `.data`), `interp_core.engine.sites` (the site vocabulary), `interp_core.plots.*`
(figures), and `interp_core.results` / `.budgets` / `.settings`.

The facade's names are imported on first use (PEP 562), so `import interp_core.<light module>` (the CLI's
client of a resident worker, settings, errors) does not pay for torch and transformers.
"""
from __future__ import annotations

import importlib

# public name -> the module that defines it
_WHERE = {
    "supported_families": "interp_core.engine.adapters",
    "EMBEDDED": "interp_core.engine.catalog", "HUB": "interp_core.engine.catalog",
    "CatalogEntry": "interp_core.engine.catalog",
    "Cancelled": "interp_core.errors", "ModelLoadError": "interp_core.errors",
    "UnsupportedModelError": "interp_core.errors", "UserError": "interp_core.errors",
    "hooked": "interp_core.engine.hooks",
    "is_prepared": "interp_core.engine.loading", "load_model": "interp_core.engine.loading",
    "make_spec": "interp_core.engine.loading", "prepare_model": "interp_core.engine.loading",
    "resolve_device": "interp_core.engine.loading",
    "Encoded": "interp_core.engine.model", "ForwardResult": "interp_core.engine.model",
    "LoadedModel": "interp_core.engine.model", "ModelInfo": "interp_core.engine.model",
    "ModelSpec": "interp_core.engine.model",
    "Settings": "interp_core.settings", "load_settings": "interp_core.settings",
    "SITE_KINDS": "interp_core.engine.sites", "Site": "interp_core.engine.sites",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'interp_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
