"""Canonical hook sites shared by every architecture family (TransformerLens-style names)."""
from __future__ import annotations

from dataclasses import dataclass

from interp_core.errors import UserError

# kind -> what is captured there; shapes use B=batch, T=tokens, D=d_model, H=heads, Dh=d_head, M=d_mlp, V=vocab
SITE_KINDS: dict[str, str] = {
    "embed": "token embeddings (B, T, D), before positions are added",
    "resid": "residual stream: layer 0 = input of block 0, layer l = output of block l-1 (B, T, D)",
    "attn_out": "attention output of block l, as added to the residual stream (B, T, D)",
    "attn_heads": "per-head attention output of block l, before the output projection (B, T, H, Dh)",
    "mlp_out": "MLP output of block l, as added to the residual stream (B, T, D)",
    "mlp_neurons": "MLP activations of block l entering the down projection (B, T, M)",
    "final_norm": "the final norm's output (decoders); equals HF's last hidden state (B, T, D)",
    "logits": "unembedding output (B, T, V)",
}
LAYERED = {"resid", "attn_out", "attn_heads", "mlp_out", "mlp_neurons"}


@dataclass(frozen=True, order=True)
class Site:
    """One named place in the network, e.g. Site('mlp_neurons', 2); parse 'mlp_neurons.2'."""

    kind: str
    layer: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in SITE_KINDS:
            raise UserError(f"Unknown site '{self.kind}'; choose one of {', '.join(SITE_KINDS)}.")
        if (self.kind in LAYERED) != (self.layer is not None):
            need = "needs a layer" if self.kind in LAYERED else "takes no layer"
            raise UserError(f"Site '{self.kind}' {need}.")

    def __str__(self) -> str:
        return self.kind if self.layer is None else f"{self.kind}.{self.layer}"

    @classmethod
    def parse(cls, text: str) -> "Site":
        kind, _, layer = text.partition(".")
        if layer and not layer.lstrip("-").isdigit():
            raise UserError(f"Site '{text}' has a non-integer layer.")
        return cls(kind, int(layer) if layer else None)

    @property
    def block(self) -> int:
        """Index of the last block whose output this site depends on (-1 = before block 0)."""
        if self.kind == "embed" or (self.kind == "resid" and self.layer == 0):
            return -1
        if self.kind == "resid":
            return self.layer - 1  # type: ignore[operator]
        if self.kind in LAYERED:
            return self.layer  # type: ignore[return-value]
        return 1 << 30  # final_norm / logits need the whole network
