"""A clean / corrupted pair made ready for patching: both prompts tokenized within the budget, their
positions lined up (same length, or aligned from the end when the user chooses), the prediction
positions, and the metric with its two unpatched baselines."""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from interp_core.budgets import budgets
from interp_core.engine.integrity import model_identity
from interp_core.engine.model import Encoded
from interp_core.engine.sites import Site
from interp_core.errors import UserError
from interp_core.patching.metric import Metric, make_metric, raw_metric
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

ALIGN = {"refuse": "refuse prompts of different lengths", "end": "align the prompts from the end"}


@dataclass(frozen=True, eq=False)
class Prepared:
    """Everything a patched run needs; positions are clean-prompt indices (corrupt index = + offset)."""

    clean: Encoded
    corrupt: Encoded
    metric: Metric
    clean_pred: int  # where the metric is read in the clean prompt (decoders: the last position)
    corrupt_pred: int
    positions: tuple[int, ...]  # clean positions that have a corrupted partner
    offset: int
    align: str
    model: str  # integrity.model_identity
    model_name: str
    clean_text: str = ""
    corrupt_text: str = ""

    def position_label(self, p: int) -> str:
        """The clean token at p, with the corrupted one when they differ ('Eiffel→Col')."""
        a, b = self.clean.tokens[p], self.corrupt.tokens[p + self.offset]
        return a if a == b else f"{a}→{b}"

    def provenance(self) -> dict:
        return {"clean": self.clean_text, "corrupt": self.corrupt_text, "clean_tokens": list(self.clean.tokens),
                "corrupt_tokens": list(self.corrupt.tokens), "align": self.align, "offset": self.offset,
                "metric": self.metric.to_dict(), "model": self.model_name, "model_identity": self.model}


def prediction_position(lm: LoadedModel, enc: Encoded) -> int:
    """Decoders: the last position; BERT: the (first) [MASK]."""
    from interp_core.ablation import prediction_positions

    return prediction_positions(lm, enc.input_ids)[0]


def final_raw(lm: LoadedModel, metric: Metric, enc: Encoded, pred: int) -> float:
    """Raw metric of one unpatched run."""
    last = Site("resid", lm.adapter.n_layers)
    with torch.inference_mode():
        resid = lm.run(enc.input_ids, capture=[last], need_logits=False).cache[last]  # (1, T, D)
        return float(raw_metric(lm, metric, resid[:, pred])[0])


def _encode(lm: LoadedModel, text: str, what: str) -> Encoded:
    if not isinstance(text, str) or not text.strip():
        raise UserError(f"The {what} prompt is empty; type some text first.")
    enc = lm.encode(text)
    budgets().patching_tokens.check(len(enc.tokens))
    return enc


def prepare(lm: LoadedModel, clean: str, corrupt: str, target: str, foil: str | None = None, *, metric: str = "logit_diff",
            align: str = "refuse", baselines: bool = True) -> Prepared:
    """Validate and tokenize a pair; with `baselines`, run both prompts once to normalise the metric."""
    if align not in ALIGN:
        raise UserError(f"Unknown alignment '{align}'; choose one of {', '.join(ALIGN)}.")
    if not lm.adapter.has_lm_head:
        raise UserError(f"{lm.spec.name} has no LM head, so there is no answer to patch; "
                        "pick a model with one (e.g. gemma-3-270m).")
    m = make_metric(lm, metric, target, foil)
    ce, ke = _encode(lm, clean, "clean"), _encode(lm, corrupt, "corrupted")
    tc, tk = len(ce.tokens), len(ke.tokens)
    if tc != tk and align == "refuse":
        raise UserError(f"The clean prompt is {tc} tokens and the corrupted one {tk}; patching needs them "
                        "position by position. Make them the same length, or choose to align them from the end.")
    offset = tk - tc
    positions = tuple(p for p in range(tc) if 0 <= p + offset < tk)
    cp, kp = prediction_position(lm, ce), prediction_position(lm, ke)
    prep = Prepared(ce, ke, m, cp, kp, positions, offset, align, model_identity(lm), lm.spec.name, clean, corrupt)
    if baselines:
        prep = with_metric(prep, m.with_baselines(final_raw(lm, m, ce, cp), final_raw(lm, m, ke, kp)))
    return prep


def with_metric(prep: Prepared, metric: Metric) -> Prepared:
    return replace(prep, metric=metric)
