"""SAEs from the Hugging Face hub by a SAELens release id plus SAE id ('gemma-scope-2-270m-pt-res/layer_12_width_16k_l0_medium'),
downloaded once into the hub cache; offline, one sentence saying how to fetch it. With sae-lens installed its release
directory is used; without it the Gemma Scope 2 releases resolve by their naming rule."""
from __future__ import annotations

import os
import re
from pathlib import Path

from interp_core.errors import UserError

_GS2 = re.compile(r"gemma-scope-2-(?P<size>[\w.]+?)-(?P<tune>pt|it)-(?P<kind>res|mlp|att|transcoders)(?P<all>-all)?")
_GS2_FOLDER = {"res": "resid_post", "mlp": "mlp_out", "att": "attn_out", "transcoders": "transcoder"}


def resolve_release(release: str, sae_id: str) -> tuple[str, str, str]:
    """(repo_id, folder in the repo, model name) of a SAELens release's SAE."""
    try:
        from sae_lens.loading.pretrained_saes_directory import get_pretrained_saes_directory
    except ImportError:
        get_pretrained_saes_directory = None
    if get_pretrained_saes_directory is not None:
        lookup = get_pretrained_saes_directory().get(release)
        if lookup is not None:
            if sae_id not in lookup.saes_map:
                raise UserError(f"Release '{release}' has no SAE '{sae_id}'; e.g. {', '.join(list(lookup.saes_map)[:3])}.")
            return lookup.repo_id, lookup.saes_map[sae_id], lookup.model
    m = _GS2.fullmatch(release)
    if m is None:
        raise UserError(f"Unknown SAE release '{release}'; give a SAELens release id (install sae-lens to use any "
                        "of its releases), a folder with cfg.json + sae_weights.safetensors, or a params file.")
    folder = sae_id if "/" in sae_id else f"{_GS2_FOLDER[m['kind']]}{'_all' if m['all'] else ''}/{sae_id}"
    model = f"google/gemma-3-{m['size']}" + ("" if m["tune"] == "pt" and m["size"] == "270m" else f"-{m['tune']}")
    return f"google/gemma-scope-2-{m['size']}-{m['tune']}", folder, model


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")


def download(repo: str, folder: str) -> Path:
    """The local folder holding the SAE's files (cfg.json + sae_weights.safetensors, or params.safetensors)."""
    from huggingface_hub import hf_hub_download

    how = f"on a machine with internet run `hf download {repo} --include '{folder}/*'`"
    last: Exception | None = None
    for local in (True, False):
        if not local and _offline():
            raise UserError(f"The SAE {repo}/{folder} is not in the local Hugging Face cache and hub downloads are "
                            f"off (HF_HUB_OFFLINE=1); {how}.")
        for names in (("cfg.json", "sae_weights.safetensors"), ("params.safetensors",), ("params.npz",)):
            try:
                paths = [hf_hub_download(repo, f"{folder}/{n}", local_files_only=local) for n in names]
            except Exception as e:  # not cached / not in the repo / no network: try the next layout
                last = e
                continue
            if names[0] == "params.safetensors":
                try:  # Gemma Scope 2 may ship a config.json beside the weights
                    hf_hub_download(repo, f"{folder}/config.json", local_files_only=local)
                except Exception:
                    pass
            return Path(paths[0]).parent
    kind = last.__class__.__name__ if last is not None else ""
    if "RepositoryNotFound" in kind or "EntryNotFound" in kind or "GatedRepo" in kind:
        raise UserError(f"The hub has no accessible SAE at {repo}/{folder} ({kind}).")
    raise UserError(f"The SAE {repo}/{folder} is not in the local Hugging Face cache and the hub could not be "
                    f"reached; {how}.")
