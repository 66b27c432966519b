"""A sparse autoencoder (or transcoder) in memory: its weights, its architecture and the hook it was trained on,
with encode and decode written to match sae-lens' `SAE.encode` / `SAE.decode` for every architecture we load
(ReLU, JumpReLU, TopK, BatchTopK; input normalisation and the decoder-bias shift included)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import torch

from interp_core.errors import UserError

ARCHITECTURES = ("relu", "jumprelu", "topk", "batchtopk")
NORMALIZATIONS = ("none", "expected_average_only_in", "constant_norm_rescale", "layer_norm")
LN_EPS = 1e-5  # sae-lens' run-time layer norm


@dataclass(eq=False)
class SAE:
    """Weights as sae-lens names them; W_enc (D_in, F), W_dec (F, D_out), b_enc (F,), b_dec (D_out,)."""

    W_enc: torch.Tensor
    W_dec: torch.Tensor
    b_enc: torch.Tensor
    b_dec: torch.Tensor
    architecture: str  # one of ARCHITECTURES
    hook_name: str  # the hook it reads, as its files name it (TransformerLens or HF style)
    model_name: str = ""
    threshold: torch.Tensor | None = None  # (F,) JumpReLU (and BatchTopK saved for inference)
    k: int | None = None  # TopK / BatchTopK: latents kept per token
    apply_b_dec_to_input: bool = False
    normalize_activations: str = "none"
    rescale_acts_by_decoder_norm: bool = False
    hook_name_out: str | None = None  # transcoders: where the output lands
    W_skip: torch.Tensor | None = None  # (D_out, D_in) skip transcoders
    source: str = ""  # where it was loaded from (shown in the UI and provenance)
    cfg: dict = field(default_factory=dict)  # its config as read, for provenance

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise UserError(f"SAE architecture '{self.architecture}' is not supported; "
                            f"supported: {', '.join(ARCHITECTURES)}.")
        if self.normalize_activations not in NORMALIZATIONS:
            raise UserError(f"SAE input normalisation '{self.normalize_activations}' is not supported.")
        if self.architecture == "jumprelu" and self.threshold is None:
            raise UserError("This JumpReLU SAE has no threshold in its weights.")
        if self.architecture in ("topk", "batchtopk") and not self.k and self.threshold is None:
            raise UserError("This TopK SAE's config has no k.")
        d_in, f = self.W_enc.shape
        if self.W_dec.shape[0] != f or self.b_enc.shape != (f,) or self.b_dec.shape != (self.W_dec.shape[1],):
            raise UserError(f"The SAE's weights do not fit together: W_enc {tuple(self.W_enc.shape)}, "
                            f"W_dec {tuple(self.W_dec.shape)}, b_enc {tuple(self.b_enc.shape)}, "
                            f"b_dec {tuple(self.b_dec.shape)}.")

    @property
    def d_in(self) -> int:
        return int(self.W_enc.shape[0])

    @property
    def d_out(self) -> int:
        return int(self.W_dec.shape[1])

    @property
    def d_sae(self) -> int:
        return int(self.W_enc.shape[1])

    @property
    def is_transcoder(self) -> bool:
        return self.hook_name_out is not None

    def fingerprint(self) -> str:
        """Identity of the weights (cache keys): shapes, architecture and a strided sample of every tensor."""
        h = hashlib.sha256(f"{self.architecture}|{self.k}|{self.hook_name}|{self.apply_b_dec_to_input}|"
                           f"{self.normalize_activations}".encode())
        for t in (self.W_enc, self.W_dec, self.b_enc, self.b_dec, self.threshold):
            if t is not None:
                flat = t.detach().reshape(-1)
                h.update(str(tuple(t.shape)).encode() + flat[:: max(1, flat.numel() // 4096)].float().cpu().numpy().tobytes())
        return h.hexdigest()[:20]

    def to(self, device: torch.device | str) -> SAE:
        """Move the weights (in place) and return self."""
        for name in ("W_enc", "W_dec", "b_enc", "b_dec", "threshold", "W_skip"):
            t = getattr(self, name)
            if t is not None and t.device != torch.device(device):
                setattr(self, name, t.to(device))
        return self

    # --- encode / decode, as sae-lens does ---------------------------------------------------------
    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalize_activations == "constant_norm_rescale":
            return x * (self.d_in ** 0.5) / x.norm(dim=-1, keepdim=True)
        if self.normalize_activations == "layer_norm":
            x = x - x.mean(dim=-1, keepdim=True)
            return x / (x.std(dim=-1, keepdim=True) + LN_EPS)
        return x

    def out_scale(self, x: torch.Tensor) -> torch.Tensor | float:
        """Per-token factor (…, 1) that maps a decoded vector from normalised back to activation units."""
        if self.normalize_activations == "constant_norm_rescale":
            return x.norm(dim=-1, keepdim=True) / (self.d_in ** 0.5)
        if self.normalize_activations == "layer_norm":
            return (x - x.mean(dim=-1, keepdim=True)).std(dim=-1, keepdim=True)
        return 1.0

    def pre_activations(self, x: torch.Tensor) -> torch.Tensor:
        """(..., D_in) -> (..., F) hidden pre-activations."""
        x = self._normalize(x.to(self.W_enc.dtype))
        if self.apply_b_dec_to_input:
            x = x - self.b_dec
        return x @ self.W_enc + self.b_enc

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(..., D_in) -> (..., F) latents."""
        pre = self.pre_activations(x)
        if self.architecture == "relu":
            return pre.relu()
        if self.architecture == "jumprelu" or (self.architecture == "batchtopk" and self.threshold is not None):
            return pre.relu() * (pre > self.threshold).to(pre.dtype)
        if self.rescale_acts_by_decoder_norm:
            pre = pre * self.W_dec.norm(dim=-1)
        if self.architecture == "topk":
            v, ix = torch.topk(pre, k=int(self.k), dim=-1, sorted=False)  # type: ignore[arg-type]
            return torch.zeros_like(pre).scatter_(-1, ix, v.relu())
        # batchtopk without a learned threshold: the top k*N activations over the whole batch
        acts = pre.relu()
        flat = acts.reshape(-1)
        n = max(1, flat.numel() // self.d_sae)
        keep = torch.topk(flat, min(flat.numel(), int(self.k) * n))  # type: ignore[arg-type]
        return torch.zeros_like(flat).scatter_(-1, keep.indices, keep.values).view_as(acts)

    def decode_linear(self, z: torch.Tensor) -> torch.Tensor:
        """(..., F) -> (..., D_out) without the bias: the latents' decoded contribution (normalised units)."""
        if self.rescale_acts_by_decoder_norm:
            z = z / self.W_dec.norm(dim=-1)
        return z.to(self.W_dec.dtype) @ self.W_dec

    def decode(self, z: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """(..., F) -> (..., D_out) reconstruction; `x` (the input) is needed to undo a run-time normalisation
        and for a skip transcoder's affine path."""
        out = self.decode_linear(z) + self.b_dec
        if self.normalize_activations in ("constant_norm_rescale", "layer_norm"):
            if x is None:
                raise ValueError("decoding a normalised SAE needs its input")
            xf = x.to(out.dtype)
            mean = xf.mean(dim=-1, keepdim=True) if self.normalize_activations == "layer_norm" else 0.0
            out = out * self.out_scale(xf) + mean
        if self.W_skip is not None and x is not None:
            out = out + x.to(out.dtype) @ self.W_skip.T
        return out

    def decoder_direction(self, i: int) -> torch.Tensor:
        """(D_out,) latent i's decoder row: the direction a unit of it writes (for steering)."""
        if not 0 <= i < self.d_sae:
            raise UserError(f"Feature {i} is out of range; this SAE has {self.d_sae} latents (0–{self.d_sae - 1}).")
        row = self.W_dec[i]
        return row / row.norm() if self.rescale_acts_by_decoder_norm else row


def decoder_direction(sae: SAE, i: int) -> torch.Tensor:
    """(D_out,) the residual-space direction latent i of `sae` writes; a steering direction source."""
    return sae.decoder_direction(i)
