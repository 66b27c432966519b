"""The patching metric: the logit difference between a target and a foil token, normalised so that the
clean run scores 1 and the corrupted run 0, or the target's probability. Read at the prediction position
from the final residual stream (final norm + unembedding, as the model does), differentiably."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from interp_core.engine.placement import module_device
from interp_core.errors import UserError
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

METRICS: dict[str, str] = {
    "logit_diff": "logit(target) − logit(foil), normalised: clean run = 1, corrupted run = 0",
    "prob": "probability of the target token",
}


@dataclass(frozen=True)
class Metric:
    """Which metric, its tokens, and the two unpatched runs' raw values (for normalising)."""

    kind: str  # one of METRICS
    target: str
    foil: str | None
    target_id: int
    foil_id: int | None
    clean_raw: float = float("nan")  # raw value (logit diff / probability) of the clean run
    corrupt_raw: float = float("nan")

    def value(self, raw):
        """Raw value(s) -> the shown metric (floats or tensors; differentiable)."""
        if self.kind == "prob":
            return raw
        return (raw - self.corrupt_raw) / (self.clean_raw - self.corrupt_raw)

    @property
    def clean(self) -> float:
        return float(self.value(self.clean_raw))

    @property
    def corrupt(self) -> float:
        return float(self.value(self.corrupt_raw))

    def with_baselines(self, clean_raw: float, corrupt_raw: float) -> Metric:
        if self.kind == "logit_diff" and abs(clean_raw - corrupt_raw) < 1e-6:
            raise UserError("The clean and corrupted prompts give the same logit difference "
                            f"({clean_raw:.4f}), so there is nothing to restore; pick a pair whose answers differ.")
        return Metric(self.kind, self.target, self.foil, self.target_id, self.foil_id, float(clean_raw),
                      float(corrupt_raw))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "about": METRICS[self.kind], "target": self.target, "foil": self.foil,
                "clean_raw": self.clean_raw, "corrupt_raw": self.corrupt_raw, "clean": self.clean,
                "corrupt": self.corrupt}


def make_metric(lm: LoadedModel, kind: str, target: str, foil: str | None) -> Metric:
    """Check the metric name and that target (and foil) are single tokens; baselines come later."""
    if kind not in METRICS:
        raise UserError(f"Unknown metric '{kind}'; choose one of {', '.join(METRICS)}.")
    if not target:
        raise UserError("The target token is empty; give the clean prompt's answer, e.g. ' Paris'.")
    tid = lm.token_id(target)
    fid = None
    if kind == "logit_diff":
        if not foil:
            raise UserError("The logit difference needs a foil token, e.g. ' Rome' (the corrupted answer).")
        fid = lm.token_id(foil)
        if fid == tid:
            raise UserError("The target and foil are the same token; pick two different answers.")
    return Metric(kind, target, foil or None, tid, fid)


def answer_logits(lm: LoadedModel, resid: torch.Tensor, ids: list[int]) -> torch.Tensor:
    """(B, D) final residual stream -> (B, k) logits of the given token ids only (cheap for a Linear head).

    Row by row as a product and a sum over D, so a row's value never depends on how many rows are in the
    batch (a matrix multiply may block differently): a patched run matches an unpatched one bit for bit."""
    a = lm.adapter
    head = a.unembed_module()
    if isinstance(head, torch.nn.Linear) and not a.masked_lm:
        norm = a.final_norm_module()
        h = norm(resid.to(module_device(norm, resid.device))) if norm is not None else resid  # (B, D)
        h = h.to(head.weight.device)  # split models: decoded where the unembedding lives
        out = (h.unsqueeze(1) * head.weight[ids].unsqueeze(0)).sum(-1)  # (B, k)
        if head.bias is not None:
            out = out + head.bias[ids]
        return a.finish_logits(out)
    return torch.cat([a.decode_resid(r[None])[:, ids] for r in resid])  # (B, k), one row at a time


def raw_metric(lm: LoadedModel, metric: Metric, resid: torch.Tensor) -> torch.Tensor:
    """(B, D) final residual stream at the prediction position -> (B,) raw metric in float64."""
    if metric.kind == "logit_diff":
        assert metric.foil_id is not None  # a logit difference always has a foil
        lg = answer_logits(lm, resid, [metric.target_id, metric.foil_id]).double()
        return lg[:, 0] - lg[:, 1]
    logits = lm.adapter.decode_resid(resid).double()
    return torch.softmax(logits, -1)[:, metric.target_id]
