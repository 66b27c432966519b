"""Where a model's parameters are: embedding, each block's attention, MLP and norms, the final norm and the
unembedding (tied weights counted once, where they first appear; position embeddings and anything else outside
the blocks and the head count with the embedding). The home page's overview chart."""
from __future__ import annotations

import pandas as pd

from interp_core.engine.model import LoadedModel

PARAMETER_COLUMNS = ["position", "layer", "part", "params"]
PARTS = ("embedding", "attention", "MLP", "norms", "unembedding")


def _is_norm(name: str) -> bool:
    low = name.lower()
    return "norm" in low or "ln_" in low or low.startswith("ln")


def parameter_breakdown(lm: LoadedModel) -> pd.DataFrame:
    """One row per (position, part): position 'embed', '0'..'L-1' (blocks), 'head'; layer -1 / block / L."""
    a = lm.adapter
    seen: set[int] = set()
    rows: list[tuple[str, int, str, int]] = []

    def count(params) -> int:
        n = 0
        for p in params:
            if id(p) not in seen:
                seen.add(id(p))
                n += p.numel()
        return n

    embed = count(a.embed_module().parameters())  # first, so a tied unembedding counts here
    for layer, block in enumerate(a.blocks()):
        attn = {id(p) for p in a.attn_module(layer).parameters()}
        parts: dict[str, list] = {"attention": [], "MLP": [], "norms": []}
        for name, p in block.named_parameters():
            parts["attention" if id(p) in attn else "norms" if _is_norm(name) else "MLP"].append(p)
        rows += [(str(layer), layer, part, count(ps)) for part, ps in parts.items()]
    norm = a.final_norm_module()
    rows.append(("head", a.n_layers, "norms", count(norm.parameters()) if norm is not None else 0))
    unembed = a.unembed_module()
    rows.append(("head", a.n_layers, "unembedding", count(unembed.parameters()) if unembed is not None else 0))
    embed += count(lm.model.parameters())  # position / token-type embeddings and their norms: outside blocks and head
    return pd.DataFrame([("embed", -1, "embedding", embed), *rows], columns=PARAMETER_COLUMNS)
