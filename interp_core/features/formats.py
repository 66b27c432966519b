"""SAE files on disk: the SAELens format (cfg.json + sae_weights.safetensors) read and written, and Gemma Scope's
params.safetensors / params.npz (W_enc, W_dec, b_enc, b_dec, threshold; Gemma Scope 2 writes them lower-case)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch

from interp_core.errors import UserError
from interp_core.features.sae import SAE
from interp_core.results import atomic_write

SAELENS_CFG = "cfg.json"
SAELENS_WEIGHTS = "sae_weights.safetensors"
PARAMS_FILES = ("params.safetensors", "params.npz")
SAELENS_FORMAT = "6.54.12"  # the sae-lens release whose on-disk format we write (it reads pre-6 files differently)
# sae-lens architecture names -> ours (transcoders read one site and write another)
_ARCH = {"standard": "relu", "relu": "relu", "jumprelu": "jumprelu", "jump_relu": "jumprelu", "topk": "topk", "batchtopk": "batchtopk",
         "transcoder": "relu", "skip_transcoder": "relu", "jumprelu_transcoder": "jumprelu",
         "jumprelu_skip_transcoder": "jumprelu"}


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {k: torch.from_numpy(np.array(z[k])) for k in z.files}
    from safetensors.torch import load_file

    return load_file(str(path))


def _pick(t: dict[str, torch.Tensor], name: str) -> torch.Tensor | None:
    for key in (name, name.lower(), name.replace("W_", "w_")):
        if key in t:
            return t[key].float()
    return None


def _from_tensors(t: dict[str, torch.Tensor], cfg: dict, source: str) -> SAE:
    missing = [n for n in ("W_enc", "W_dec", "b_enc", "b_dec") if _pick(t, n) is None]
    if missing:
        raise UserError(f"The SAE file {source} lacks {', '.join(missing)}; is it an SAE?")
    meta = cfg.get("metadata") or {}
    arch_in = str(cfg.get("architecture") or cfg.get("activation_fn_str") or
                  ("jumprelu" if _pick(t, "threshold") is not None else "standard")).lower()
    if arch_in not in _ARCH:
        raise UserError(f"SAE architecture '{arch_in}' ({source}) is not supported; "
                        "supported: ReLU (standard), JumpReLU, TopK, BatchTopK and their transcoders.")
    k = cfg.get("k") or (cfg.get("activation_fn_kwargs") or {}).get("k")
    skip = t.get("W_skip")
    if skip is None and "affine_skip_connection" in t:
        skip = t["affine_skip_connection"].T.contiguous()  # stored (D_in, D_out)
    return SAE(W_enc=_pick(t, "W_enc"), W_dec=_pick(t, "W_dec"), b_enc=_pick(t, "b_enc"), b_dec=_pick(t, "b_dec"),  # type: ignore[arg-type]
               architecture=_ARCH[arch_in], threshold=_pick(t, "threshold"), k=int(k) if k else None,
               hook_name=str(meta.get("hook_name") or cfg.get("hook_name") or cfg.get("hook_point")
                             or cfg.get("hf_hook_point_in") or ""),
               hook_name_out=meta.get("hook_name_out") or cfg.get("hook_name_out") or cfg.get("hf_hook_point_out"),
               model_name=str(meta.get("model_name") or cfg.get("model_name") or ""),
               apply_b_dec_to_input=bool(cfg.get("apply_b_dec_to_input", False)),
               normalize_activations=str(cfg.get("normalize_activations") or "none"),
               rescale_acts_by_decoder_norm=bool(cfg.get("rescale_acts_by_decoder_norm", False)),
               W_skip=None if skip is None else skip.float(), source=source, cfg=cfg)


def _gemma_scope_cfg(folder: Path) -> dict:
    """Gemma Scope folders carry no cfg.json: the hook comes from the folder names (as sae-lens infers it)."""
    text = str(folder)
    m = re.search(r"layer_(\d+)", text)
    if m is None:
        return {}
    layer = int(m.group(1))
    for key, hook, out in (("transcoder", "hook_mlp_in", "hook_mlp_out"), ("resid_post", "hook_resid_post", None),
                           ("attn_out", "attn.hook_z", None), ("mlp_out", "hook_mlp_out", None)):
        if key in text:
            cfg = {"architecture": "jumprelu", "hook_name": f"blocks.{layer}.{hook}", "apply_b_dec_to_input": False}
            return {**cfg, "hook_name_out": f"blocks.{layer}.{out}"} if out else cfg
    return {}


def load_path(path: str | Path) -> SAE:
    """An SAE from a folder (SAELens or Gemma Scope files) or a params file; one sentence when it is neither."""
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(f"No SAE at '{path}': that path does not exist.")
    folder = p if p.is_dir() else p.parent
    cfg: dict = {}
    for name in (SAELENS_CFG, "config.json"):
        if (folder / name).is_file():
            try:
                cfg = json.loads((folder / name).read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise UserError(f"The SAE config {folder / name} is not valid JSON ({e}).") from None
            break
    if p.is_dir():
        files = [folder / f for f in (SAELENS_WEIGHTS, *PARAMS_FILES) if (folder / f).is_file()]
        if not files:
            raise UserError(f"'{path}' holds no SAE: expected {SAELENS_CFG} + {SAELENS_WEIGHTS}, or "
                            f"{' or '.join(PARAMS_FILES)}.")
        p = files[0]
    if p.name != SAELENS_WEIGHTS and ("hook_name" not in cfg and "hook_name" not in (cfg.get("metadata") or {})):
        cfg = {**_gemma_scope_cfg(folder.resolve()), **cfg}
    try:
        tensors = _tensors(p)
    except Exception as e:  # a damaged or foreign file: one sentence, not a traceback
        raise UserError(f"Could not read SAE weights from {p} ({e.__class__.__name__}).") from None
    return _from_tensors(tensors, cfg, str(p.parent))


def save_saelens(sae: SAE, folder: str | Path, extra_metadata: dict | None = None) -> Path:
    """Write `sae` as SAELens writes it (cfg.json + sae_weights.safetensors), readable by `SAE.load_from_disk`."""
    from safetensors.torch import save_file

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    weights = {"W_enc": sae.W_enc, "W_dec": sae.W_dec, "b_enc": sae.b_enc, "b_dec": sae.b_dec}
    if sae.threshold is not None:
        weights["threshold"] = sae.threshold
    cfg = {"architecture": {"relu": "standard"}.get(sae.architecture, sae.architecture), "d_in": sae.d_in,
           "d_sae": sae.d_sae, "dtype": "float32", "device": "cpu", "apply_b_dec_to_input": sae.apply_b_dec_to_input,
           "normalize_activations": sae.normalize_activations, "reshape_activations": "none",
           "metadata": {"sae_lens_version": SAELENS_FORMAT, "hook_name": sae.hook_name,
                        "model_name": sae.model_name, **(extra_metadata or {})}}
    if sae.architecture in ("topk", "batchtopk"):
        cfg.update(k=int(sae.k or 0), rescale_acts_by_decoder_norm=sae.rescale_acts_by_decoder_norm)
    ok = atomic_write(out / SAELENS_WEIGHTS, lambda tmp: save_file(
        {k: v.detach().float().cpu().contiguous() for k, v in weights.items()}, str(tmp)), suffix=".part.safetensors")

    def write_cfg(tmp: Path) -> None:
        tmp.write_text(json.dumps(cfg, indent=1), encoding="utf-8")
    ok = ok and atomic_write(out / SAELENS_CFG, write_cfg, suffix=".part.json")
    if not ok:
        raise UserError(f"Could not write the SAE to {out}; is the folder writable?")
    return out
