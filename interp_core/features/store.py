"""Which SAE an id names, loaded once per process, and attached to a model as a site.

An id is a folder or params file, the name of an SAE trained here (under the cache's `saes/`), or a SAELens
release plus SAE id 'RELEASE/SAE_ID' from the hub. Attaching checks the SAE against the model (its name and the
width of the site it reads) and registers its codec, so Site('sae', layer, sae=ID) runs through the hooks."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import torch

from interp_core.engine.codecs import SiteCodec, register
from interp_core.engine.model import LoadedModel
from interp_core.engine.sites import Site, site_width
from interp_core.errors import UserError
from interp_core.features.formats import SAELENS_CFG, load_path
from interp_core.features.hooknames import site_of_hook
from interp_core.features.hub import download, resolve_release
from interp_core.features.sae import SAE
from interp_core.settings import load_settings

_LOADED: dict[str, SAE] = {}
_LOCK = threading.Lock()


def trained_dir() -> Path:
    """Where `sae train` saves (one SAELens folder per SAE)."""
    return load_settings().cache_dir / "saes"


def load_sae(sae_id: str) -> SAE:
    """The SAE an id names (memoized per process)."""
    sae_id = sae_id.strip()
    if not sae_id:
        raise UserError("No SAE given; pass a folder, a trained SAE's name or a SAELens 'RELEASE/SAE_ID'.")
    with _LOCK:
        hit = _LOADED.get(sae_id)
    if hit is not None:
        return hit
    local = trained_dir() / sae_id
    if "/" not in sae_id and (local / SAELENS_CFG).is_file():
        sae = load_path(local)
    elif Path(sae_id).expanduser().exists():
        sae = load_path(sae_id)
    elif "/" in sae_id:
        release, _, inner = sae_id.partition("/")
        repo, folder, model = resolve_release(release, inner)
        sae = load_path(download(repo, folder))
        sae.model_name = model  # the release's own word for the model (Gemma Scope's files spell it otherwise)
        sae.source = f"{repo}/{folder}"
    else:
        raise UserError(f"No SAE named '{sae_id}': not a folder, not a trained SAE (see `sae list`), "
                        "and not a SAELens 'RELEASE/SAE_ID'.")
    with _LOCK:
        _LOADED[sae_id] = sae
    return sae


def forget(sae_id: str) -> None:
    """Drop a memoized SAE (after retraining one under the same name)."""
    with _LOCK:
        _LOADED.pop(sae_id, None)


def list_trained() -> list[dict]:
    """The SAEs trained here: name, hook, model, width and the held-out report when there is one."""
    out = []
    root = trained_dir()
    for folder in sorted(root.glob("*/")) if root.is_dir() else []:
        try:
            cfg = json.loads((folder / SAELENS_CFG).read_text())
        except (OSError, ValueError):
            continue
        meta = cfg.get("metadata") or {}
        out.append({"id": folder.name, "model": meta.get("model_name", ""), "hook_name": meta.get("hook_name", ""),
                    "architecture": cfg.get("architecture"), "d_sae": cfg.get("d_sae"), "k": cfg.get("k"),
                    "report": meta.get("looking_glass_report")})
    return out


def _same_model(trained_on: str, lm: LoadedModel) -> bool:
    def norm(name: str) -> str:  # 'google/gemma-3-270m' and Gemma Scope's 'gemma-v3-270m-pt' name the embedded model
        base = name.strip().lower().rstrip("/").split("/")[-1].replace("-v3", "-3")
        return base[:-3] if base.endswith("-pt") else base
    return not trained_on or norm(trained_on) == norm(lm.spec.name)


def sites_of(sae: SAE) -> tuple[Site, Site | None]:
    """(the site it reads, the site a transcoder writes or None)."""
    if not sae.hook_name:
        raise UserError(f"The SAE {sae.source} does not say which hook it was trained on (no hook_name in its config).")
    return site_of_hook(sae.hook_name), (site_of_hook(sae.hook_name_out) if sae.hook_name_out else None)


def attach(lm: LoadedModel, sae_id: str) -> tuple[Site, SAE]:
    """Load `sae_id`, check it fits `lm`, register its codec -> (its latent Site, the SAE)."""
    sae = load_sae(sae_id)
    if not _same_model(sae.model_name, lm):
        raise UserError(f"The SAE '{sae_id}' was trained on {sae.model_name}, not {lm.spec.name}; "
                        "pick an SAE for this model.")
    base, out = sites_of(sae)
    lm.adapter.check_site(base)
    for site, need in ((base, sae.d_in), (out, sae.d_out)):
        if site is not None and site_width(site.kind, lm.adapter) != need:
            raise UserError(f"The SAE '{sae_id}' expects {need} inputs at {site} but {lm.spec.name} has "
                            f"{site_width(site.kind, lm.adapter)} there; it was trained on another model.")
    if out is None and sae.d_out != sae.d_in:
        raise UserError(f"The SAE '{sae_id}' reads {sae.d_in} and writes {sae.d_out} dimensions but names one hook.")

    def encode(x: torch.Tensor) -> torch.Tensor:  # (..., D_in) -> (..., F)
        return sae.to(x.device).encode(x)

    def decode_delta(dz: torch.Tensor, x: torch.Tensor) -> torch.Tensor:  # (..., F), (..., D_in) -> (..., D_out)
        return sae.decode_linear(dz) * sae.out_scale(x.to(sae.W_dec.dtype))

    register(SiteCodec(sae_id, base, out, sae.d_sae, encode, decode_delta, sae.model_name))
    return Site("sae", base.layer, sae=sae_id), sae
