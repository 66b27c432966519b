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

# module -> the public names it defines
_MODULES = {
    "interp_core.engine.adapters": ("supported_families",),
    "interp_core.engine.catalog": ("EMBEDDED", "HUB", "CatalogEntry"),
    "interp_core.errors": ("Cancelled", "ModelLoadError", "UnsupportedModelError", "UserError"),
    "interp_core.engine.hooks": ("hooked",),
    "interp_core.engine.loading": ("is_prepared", "load_model", "make_spec", "prepare_model", "resolve_device"),
    "interp_core.engine.model": ("Encoded", "ForwardResult", "LoadedModel", "ModelInfo", "ModelSpec"),
    "interp_core.settings": ("Settings", "load_settings"),
    "interp_core.engine.sites": ("SITE_KINDS", "Site"),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}
__all__ = [name for name in sorted(_WHERE)]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'interp_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
