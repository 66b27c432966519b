"""Build a Gemma 3 270M with random weights from its config and tokenizer (a folder holding config.json,
tokenizer.json, tokenizer_config.json), as a Looking Glass model cache: `LOOKING_GLASS_CACHE=OUT`.

For speed runs on machines the real 1 GB weights cannot travel to (the GPU machine here receives at most
64 MiB): the architecture, shapes, vocabulary and tokenizer are the real model's, so throughput, latency
and memory are too; the predictions are not.

    python bench/random_gemma.py CONFIG_DIR OUT
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM


def main(src: str, out: str) -> Path:
    src_dir, dst = Path(src), Path(out) / "models" / "gemma-3-270m"
    dst.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(str(src_dir))
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.save_pretrained(str(dst), safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        if (src_dir / name).exists():
            shutil.copy(src_dir / name, dst / name)
    return dst


if __name__ == "__main__":
    print(main(*sys.argv[1:3]))
