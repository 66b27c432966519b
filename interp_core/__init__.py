"""Looking Glass backend: load transformer LMs, hook canonical sites, run interpretability methods.

Never imports streamlit. The public API that pages and the CLI use is this facade (loading, specs, sites,
errors), the method rooms' packages (`interp_core.lens`, `.neurons`, `.distributions`, `.ablation`,
`.patching`, `.components`, `.data`), `interp_core.engine.sites` (the site vocabulary), `interp_core.plots.*`
(figures), and `interp_core.results` / `.budgets` / `.settings`.
"""
from interp_core.engine.adapters import supported_families
from interp_core.engine.catalog import EMBEDDED, HUB, CatalogEntry
from interp_core.errors import Cancelled, ModelLoadError, UnsupportedModelError, UserError
from interp_core.engine.hooks import hooked
from interp_core.engine.loading import is_prepared, load_model, make_spec, prepare_model, resolve_device
from interp_core.engine.model import Encoded, ForwardResult, LoadedModel, ModelInfo, ModelSpec
from interp_core.settings import Settings, load_settings
from interp_core.engine.sites import SITE_KINDS, Site

__all__ = [
    "EMBEDDED", "HUB", "SITE_KINDS", "Cancelled", "CatalogEntry", "Encoded", "ForwardResult", "LoadedModel",
    "ModelInfo", "ModelLoadError", "ModelSpec", "Settings", "Site", "UnsupportedModelError", "UserError",
    "hooked", "is_prepared", "load_model", "prepare_model", "load_settings", "make_spec", "resolve_device", "supported_families",
]
