"""The one site vocabulary: canonical hook sites (TransformerLens-style names), the user-facing site names
that pages and CLI offer, their labels, layer ranges and widths. Nothing else knows these rules."""
from __future__ import annotations

from dataclasses import dataclass

from interp_core.errors import UserError

# kind -> what is captured there; shapes use B=batch, T=tokens, D=d_model, H=heads, Dh=d_head, M=d_mlp, V=vocab
SITE_KINDS: dict[str, str] = {
    "embed": "token embeddings (B, T, D), before positions are added",
    "resid": "residual stream: layer 0 = input of block 0, layer l = output of block l-1 (B, T, D)",
    "attn_out": "attention output of block l, as added to the residual stream (B, T, D)",
    "attn_heads": "per-head attention output of block l, before the output projection (B, T, H, Dh)",
    "attn_pattern": "post-softmax attention weights of block l (B, H, T_query, T_key)",
    "attn_values": "value vectors of block l, one per key/value head (B, T, H_kv, Dh); capture only",
    "mlp_out": "MLP output of block l, as added to the residual stream (B, T, D)",
    "mlp_neurons": "MLP activations of block l entering the down projection (B, T, M)",
    "mlp_in": "input of block l's MLP, after the pre-MLP norm (B, T, D): where transcoders read",
    "sae": "latents of a sparse autoencoder or transcoder, read at the site it was trained on (B, T, F)",
    "final_norm": "the final norm's output (decoders); equals HF's last hidden state (B, T, D)",
    "logits": "unembedding output (B, T, V)",
}
LAYERED = {"resid", "attn_out", "attn_heads", "attn_pattern", "mlp_out", "mlp_neurons", "mlp_in", "sae",
           "attn_values"}
SAE_PREFIX = "sae:"  # a user-facing site name 'sae:ID' names the latents of the SAE with that id


def sae_id(name: str) -> str | None:
    """The SAE id in a user-facing site name 'sae:ID', else None."""
    return name[len(SAE_PREFIX):] if name.startswith(SAE_PREFIX) else None


def n_site_layers(kind: str, n_layers: int) -> int:
    """How many layers a layered site kind has: resid has n_layers + 1 (embeddings first), the others n_layers.

    The only place this rule is written; every layer range in the app and CLI comes from here."""
    if kind not in LAYERED:
        return 0
    return n_layers + 1 if kind in ("resid", "sae") else n_layers


def layer_label(kind: str, layer: int) -> str:
    """Short axis label of a layer of a site kind: 'emb' for the residual stream before block 0, else the number."""
    return "emb" if kind == "resid" and layer == 0 else str(layer)


def layer_title(label: str) -> str:
    """The long form of a layer label: 'embeddings' or 'layer 3'."""
    return "embeddings" if label == "emb" else f"layer {label}"


def site_width(kind: str, shape) -> int:
    """Size of a site's last dimension (heads: H*Dh before reshaping; patterns: the key length is not fixed).

    `shape` is anything with d_model, d_mlp, n_heads, d_head and vocab_size (an Adapter or a ModelInfo)."""
    if kind in ("embed", "resid", "attn_out", "mlp_out", "mlp_in", "final_norm"):
        return int(shape.d_model)
    if kind == "attn_heads":
        return int(shape.n_heads) * int(shape.d_head)
    if kind == "attn_pattern":
        return int(shape.n_heads)
    if kind == "attn_values":
        return int(getattr(shape, "n_kv_heads", None) or shape.n_heads) * int(shape.d_head)
    if kind == "mlp_neurons":
        return int(shape.d_mlp)
    if kind == "logits":
        return int(shape.vocab_size)
    if kind == "sae":
        raise UserError("An SAE site is as wide as its SAE has latents; load the SAE to know it.")
    raise UserError(f"Unknown site '{kind}'; choose one of {', '.join(SITE_KINDS)}.")


@dataclass(frozen=True, order=True)
class Site:
    """One named place in the network, e.g. Site('mlp_neurons', 2); parse 'mlp_neurons.2'.

    Site('sae', layer, sae=ID): the latents of a registered SAE (engine/codecs.py) at the layer of the site it reads;
    parse 'sae.6:ID'."""

    kind: str
    layer: int | None = None
    sae: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SITE_KINDS:
            raise UserError(f"Unknown site '{self.kind}'; choose one of {', '.join(SITE_KINDS)}.")
        if (self.kind in LAYERED) != (self.layer is not None):
            need = "needs a layer" if self.kind in LAYERED else "takes no layer"
            raise UserError(f"Site '{self.kind}' {need}.")
        if (self.kind == "sae") != bool(self.sae):
            raise UserError("An SAE site needs an SAE id." if self.kind == "sae" else f"Site '{self.kind}' takes no SAE.")

    def __str__(self) -> str:
        base = self.kind if self.layer is None else f"{self.kind}.{self.layer}"
        return f"{base}:{self.sae}" if self.sae else base

    @classmethod
    def parse(cls, text: str) -> Site:
        head, _, sae = text.partition(":")
        kind, _, layer = head.partition(".")
        if layer and not layer.lstrip("-").isdigit():
            raise UserError(f"Site '{text}' has a non-integer layer.")
        return cls(kind, int(layer) if layer else None, sae or None)

    @property
    def block(self) -> int:
        """Index of the last block whose output this site depends on (-1 = before block 0)."""
        if self.kind == "sae":  # the layer of the site it reads (and writes): at most block `layer` is needed
            return self.layer  # type: ignore[return-value]
        if self.kind == "embed" or (self.kind == "resid" and self.layer == 0):
            return -1
        if self.kind == "resid":
            return self.layer - 1  # type: ignore[operator]
        if self.kind in LAYERED:
            return self.layer  # type: ignore[return-value]
        return 1 << 30  # final_norm / logits need the whole network


# --- what users pick ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SiteChoice:
    """A user-facing site name: the canonical kind it hooks, a short label and a one-line explanation."""

    name: str
    kind: str
    label: str
    help: str
    offset: int = 0  # resid_post L is the residual stream after block L: canonical Site("resid", L + 1)
    per_block: bool = False  # layers are blocks (0..n_layers-1) even where the canonical kind has one more

    def n_layers(self, n_model_layers: int) -> int:
        return n_model_layers if self.per_block else n_site_layers(self.kind, n_model_layers)

    def top_layer(self, n_model_layers: int) -> int | None:
        """The highest valid layer index, or None for a site without layers (embeddings)."""
        n = self.n_layers(n_model_layers)
        return n - 1 if n else None

    def layers(self, n_model_layers: int) -> range:
        return range(self.n_layers(n_model_layers))

    def site(self, layer: int | None) -> Site:
        return Site(self.kind, layer + self.offset if self.kind in LAYERED and layer is not None else None)

    def width(self, shape) -> int:
        return site_width(self.kind, shape)

    def layer_label(self, layer: int) -> str:
        return str(layer) if self.per_block else layer_label(self.kind, layer)

    def check_layer(self, layer: int, n_model_layers: int) -> None:
        top = self.top_layer(n_model_layers)
        if top is not None and not 0 <= layer <= top:
            raise UserError(f"Layer {layer} is out of range for {self.label.lower()}; choose 0–{top}.")


CHOICES: dict[str, SiteChoice] = {c.name: c for c in (
    SiteChoice("resid", "resid", "Hidden state (residual stream)",
               "residual stream: hidden state L (0 = embeddings, n_layers = last block's output)"),
    SiteChoice("attn_out", "attn_out", "Attention output",
               "attention output of block L, as added to the residual stream"),
    SiteChoice("head", "attn_heads", "Attention heads",
               "one or more attention heads of block L (before the output projection)"),
    SiteChoice("mlp_out", "mlp_out", "MLP output", "MLP output of block L, as added to the residual stream"),
    SiteChoice("mlp", "mlp_neurons", "MLP neurons",
               "MLP neurons of block L (the activations entering the down projection)"),
    SiteChoice("neuron", "mlp_neurons", "Chosen MLP neurons", "chosen MLP neurons of block L"),
    SiteChoice("embed", "embed", "Token embeddings", "token embeddings"),
    SiteChoice("resid_pre", "resid", "Block input (residual stream)",
               "residual stream entering block L (what block L reads)", per_block=True),
    SiteChoice("resid_post", "resid", "Block output (residual stream)",
               "residual stream leaving block L (block L's input plus its attention and MLP outputs)",
               offset=1, per_block=True),
)}
# which user-facing names each method offers, in display order
NEURON_SITES = ("resid", "mlp")
DIST_SITES = ("resid", "attn_out", "mlp_out", "mlp")
ABLATION_SITES = ("resid", "attn_out", "head", "mlp_out", "neuron", "embed")
PATCHING_SITES = ("resid", "attn_out", "mlp_out", "head", "neuron")  # what a patched component can be
STEER_SITES = ("resid_pre", "resid_post", "attn_out", "mlp_out")  # sites of width d_model a direction is added to


def resid_block_site(layer: int, n_model_layers: int) -> tuple[str, int]:
    """Hidden state `layer` (0 = embeddings … n_layers = the last block's output) as a block site: the input of
    block `layer`, or for the last one the output of the last block (the same tensor, named by block)."""
    return ("resid_pre", int(layer)) if layer < n_model_layers else ("resid_post", n_model_layers - 1)


def choice(name: str, allowed: tuple[str, ...] | None = None) -> SiteChoice:
    """The SiteChoice for a user-facing name; a UserError listing the allowed names otherwise."""
    names = allowed or tuple(CHOICES)
    if name not in names:
        raise UserError(f"Unknown site '{name}'; choose one of {', '.join(names)}.")
    return CHOICES[name]
