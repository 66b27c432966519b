"""Training a TopK sparse autoencoder (Gao et al., 2024, "Scaling and evaluating sparse autoencoders") on streamed
activation chunks: tied initialisation, b_dec at the data mean, unit-norm decoder rows with the parallel gradient
removed, Adam, and the AuxK loss that revives dead latents. Inputs are scaled to E||x||^2 = D while training and the
scale is folded back into the saved weights, so the SAE reads raw activations."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from interp_core.errors import UserError
from interp_core.features.sae import SAE

AUX_COEF = 1 / 32  # Gao et al.'s AuxK weight


@dataclass(frozen=True)
class TrainConfig:
    latents: int = 4096
    k: int = 32
    lr: float = 1e-3
    batch_tokens: int = 1024  # tokens per optimiser step
    buffer_tokens: int = 16384  # streamed tokens shuffled together before they are stepped on
    dead_tokens: int = 50_000  # a latent silent this long counts as dead (the AuxK loss works on those)
    aux_k: int = 256
    seed: int = 0

    def check(self, d_in: int) -> None:
        if not 1 <= self.k <= self.latents:
            raise UserError(f"k must be between 1 and the number of latents ({self.latents}); got {self.k}.")
        if not 8 <= self.latents <= 1 << 20:
            raise UserError(f"The number of latents must be between 8 and {1 << 20:,} (got {self.latents}).")
        if not 0 < self.lr < 1:
            raise UserError(f"The learning rate must be between 0 and 1 (got {self.lr}).")
        if d_in < 1:
            raise UserError("The site has no dimensions to encode.")


class TopKTrainer:
    """Feed (N, D) activation chunks; steps run as the shuffle buffer fills. `sae()` returns the folded SAE."""

    def __init__(self, d_in: int, cfg: TrainConfig, device: torch.device | str = "cpu") -> None:
        cfg.check(d_in)
        self.cfg, self.d_in, self.device = cfg, d_in, torch.device(device)
        self.gen = torch.Generator(device="cpu").manual_seed(cfg.seed)
        w = torch.randn(cfg.latents, d_in, generator=self.gen)
        w = (w / w.norm(dim=-1, keepdim=True)).to(self.device)
        self.W_dec = w.clone().requires_grad_(True)  # (F, D)
        self.W_enc = w.T.clone().contiguous().requires_grad_(True)  # (D, F)
        self.b_enc = torch.zeros(cfg.latents, device=self.device, requires_grad=True)
        self.b_dec = torch.zeros(d_in, device=self.device, requires_grad=True)
        self.opt = torch.optim.Adam([self.W_enc, self.W_dec, self.b_enc, self.b_dec], lr=cfg.lr, eps=6.25e-10)
        self.scale: float | None = None  # activations are divided by it while training
        self.since_fired = torch.zeros(cfg.latents, dtype=torch.long, device=self.device)
        self.fired_epoch = torch.zeros(cfg.latents, dtype=torch.bool, device=self.device)
        self.buffer: list[torch.Tensor] = []
        self.n_buffered = 0
        self.steps = 0
        self.last_loss = float("nan")

    def _start(self, x: torch.Tensor) -> None:
        self.scale = float(x.norm(dim=-1).pow(2).mean().sqrt()) / self.d_in ** 0.5 or 1.0
        with torch.no_grad():
            self.b_dec.copy_((x / self.scale).mean(0))

    def feed(self, acts: torch.Tensor) -> None:
        """Add a chunk of activations (N, D) (any dtype/device); steps on full shuffled buffers."""
        x = acts.detach().reshape(-1, self.d_in).to(self.device, torch.float32)
        if self.scale is None:
            self._start(x)
        self.buffer.append(x)
        self.n_buffered += x.shape[0]
        if self.n_buffered >= self.cfg.buffer_tokens:
            self.flush()

    def flush(self) -> None:
        """Step on everything buffered (shuffled), the last partial batch included."""
        if not self.buffer:
            return
        data = torch.cat(self.buffer)
        self.buffer, self.n_buffered = [], 0
        order = torch.randperm(data.shape[0], generator=self.gen).to(self.device)
        for i in range(0, data.shape[0], self.cfg.batch_tokens):
            self._step(data[order[i:i + self.cfg.batch_tokens]])

    def begin_epoch(self) -> None:
        self.fired_epoch.zero_()

    def _encode_pre(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.b_dec) @ self.W_enc + self.b_enc  # (N, F)

    def _step(self, raw: torch.Tensor) -> None:
        assert self.scale is not None
        x = raw / self.scale  # (N, D)
        pre = self._encode_pre(x)
        v, ix = pre.topk(self.cfg.k, dim=-1)
        z = torch.zeros_like(pre).scatter(-1, ix, v.relu())
        recon = z @ self.W_dec + self.b_dec
        err = x - recon
        var = (x - x.mean(0)).pow(2).sum(-1).mean().clamp_min(1e-8)
        loss = err.pow(2).sum(-1).mean() / var  # normalised MSE
        fired = (z > 0).any(0)
        self.since_fired += x.shape[0]
        self.since_fired[fired] = 0
        self.fired_epoch |= fired
        dead = self.since_fired > min(self.cfg.dead_tokens, 4 * self.cfg.buffer_tokens)
        n_dead = int(dead.sum())
        if n_dead:  # AuxK: the top dead latents reconstruct what the live ones missed
            k_aux = min(self.cfg.aux_k, n_dead)
            dv, di = pre.masked_fill(~dead, -torch.inf).topk(k_aux, dim=-1)
            z_aux = torch.zeros_like(pre).scatter(-1, di, dv.relu())
            e_hat = z_aux @ self.W_dec
            aux = (err.detach() - e_hat).pow(2).sum(-1).mean() / err.detach().pow(2).sum(-1).mean().clamp_min(1e-8)
            loss = loss + AUX_COEF * torch.nan_to_num(aux)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():  # keep decoder rows unit-norm: drop the gradient along each row, renormalise after
            g = self.W_dec.grad
            if g is not None:
                g -= (g * self.W_dec).sum(-1, keepdim=True) * self.W_dec
            self.opt.step()
            self.W_dec /= self.W_dec.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        self.steps += 1
        self.last_loss = float(loss.detach())

    def dead_fraction(self) -> float:
        """Share of latents that did not fire on any token of the current epoch."""
        return float((~self.fired_epoch).float().mean())

    def sae(self, hook_name: str, model_name: str) -> SAE:
        """The trained SAE for raw activations (the training scale folded into the weights)."""
        c = self.scale or 1.0
        with torch.no_grad():
            return SAE(W_enc=(self.W_enc / c).detach().cpu().clone(), W_dec=(self.W_dec * c).detach().cpu().clone(),
                       b_enc=self.b_enc.detach().cpu().clone(), b_dec=(self.b_dec * c).detach().cpu().clone(),
                       architecture="topk", k=self.cfg.k, apply_b_dec_to_input=True, hook_name=hook_name,
                       model_name=model_name)
