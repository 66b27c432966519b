"""Attribution patching (Nanda, 2023): a first-order estimate of every component's patching effect,
(corrupted − clean activation) · ∂metric/∂activation at the clean run, from one clean forward with
gradients, one corrupted forward and one backward pass, through the same hooks as exact patching.

The estimate is of the "noise" direction: the change of the metric when the corrupted activation is
patched into the clean run (exact: batched.run_components(direction="noise") minus the clean metric).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from interp_core.engine.sites import Site, layer_label, n_site_layers
from interp_core.patching.batched import Component, run_components
from interp_core.patching.metric import raw_metric
from interp_core.patching.prepared import Prepared, prepare, with_metric
from interp_core.results import Progress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interp_core.engine.model import LoadedModel

SCREENS = {"head": "heads, layer × head", "resid": "residual stream, layer × position",
           "attn_out": "attention output, layer × position", "mlp_out": "MLP output, layer × position",
           "neuron": "MLP neurons, layer × neuron"}
ATTR_COLUMNS = ["component", "layer", "layer_label", "position", "token", "head", "neuron", "estimate"]


@dataclass(frozen=True, eq=False)
class Attribution:
    """Estimated effect (Δ metric) of patching each component from the corrupted into the clean run."""

    prep: Prepared
    resid: np.ndarray  # (L+1, P) over prep.positions
    attn_out: np.ndarray  # (L, P)
    mlp_out: np.ndarray  # (L, P)
    heads: np.ndarray  # (L, H), summed over positions
    neurons: np.ndarray  # (L, M), summed over positions
    seconds: float

    @property
    def metric(self):
        return self.prep.metric

    def matrix(self, kind: str) -> np.ndarray:
        return {"resid": self.resid, "attn_out": self.attn_out, "mlp_out": self.mlp_out, "head": self.heads,
                "neuron": self.neurons}[kind]

    def estimate(self, c: Component) -> float:
        m = self.matrix(c.kind)
        col = c.index if c.kind in ("head", "neuron") else self.prep.positions.index(c.position)
        return float(m[c.layer, col])

    def frame(self, kind: str | None = None) -> pd.DataFrame:
        """Every estimate as a long table (all neurons included), or one component kind's."""
        rows = []
        for k in ([kind] if kind else list(SCREENS)):
            m = self.matrix(k)
            for layer in range(m.shape[0]):
                ll = layer_label(k, layer)
                for j in range(m.shape[1]):
                    pos = None if k in ("head", "neuron") else self.prep.positions[j]
                    rows.append({"component": k, "layer": layer, "layer_label": ll, "position": pos,
                                 "token": None if pos is None else self.prep.position_label(pos),
                                 "head": j if k == "head" else None, "neuron": j if k == "neuron" else None,
                                 "estimate": float(m[layer, j])})
        return pd.DataFrame(rows, columns=ATTR_COLUMNS)

    def top_neurons(self, n: int = 10) -> pd.DataFrame:
        """The n neurons of each layer with the largest |estimate|."""
        f = self.frame("neuron")
        f = f.assign(_a=f["estimate"].abs()).sort_values(["layer", "_a"], ascending=[True, False])
        return f.groupby("layer", sort=True).head(n).drop(columns="_a").reset_index(drop=True)

    def to_dict(self) -> dict:
        return {"kind": "attribution", "estimates_of": "Δ metric when the corrupted activation is patched into the "
                "clean run (first-order)", "provenance": self.prep.provenance(),
                "positions": list(self.prep.positions),
                "position_labels": [self.prep.position_label(p) for p in self.prep.positions],
                "resid": self.resid.tolist(), "attn_out": self.attn_out.tolist(), "mlp_out": self.mlp_out.tolist(),
                "heads": self.heads.tolist(), "neurons": self.neurons.tolist(), "seconds": self.seconds}


def _sites(n_layers: int) -> list[Site]:
    kinds = ("resid", "attn_out", "mlp_out", "attn_heads", "mlp_neurons")
    return [Site(k, l) for k in kinds for l in range(n_site_layers(k, n_layers))]


def attribute(lm: LoadedModel, clean: str, corrupt: str, target: str, foil: str | None = None, *, metric: str = "logit_diff",
              align: str = "refuse", progress: Progress | None = None) -> Attribution:
    """Estimates for every head, neuron, and resid / attn_out / mlp_out cell: 2 forwards + 1 backward."""
    prep = prepare(lm, clean, corrupt, target, foil, metric=metric, align=align, baselines=False)
    L = lm.adapter.n_layers
    sites, last = _sites(L), Site("resid", L)
    t0 = time.perf_counter()
    if progress is not None:
        progress(0.0, "Corrupted forward pass")
    with torch.inference_mode():
        corrupt_cache = lm.run(prep.corrupt.input_ids, capture=sites, need_logits=False).cache  # site -> (1, T, *F)
        corrupt_raw = float(raw_metric(lm, prep.metric, corrupt_cache[last][:, prep.corrupt_pred])[0])
    if progress is not None:
        progress(1 / 3, "Clean forward pass with gradients")
    kept: dict[Site, torch.Tensor] = {}

    def keep(site: Site, x: torch.Tensor) -> None:  # undetached: part of the graph
        kept[site] = x

    def leaf(x: torch.Tensor) -> torch.Tensor:  # the embeddings start the graph; the weights need no gradients
        return x.detach().requires_grad_(True)

    lm.run(prep.clean.input_ids, capture=sites, interventions={Site("embed"): leaf}, need_logits=False,
           on_capture=keep, grad=True)
    with torch.enable_grad():
        raw = raw_metric(lm, prep.metric, kept[last][:, prep.clean_pred])  # (1,)
        m = prep.metric.with_baselines(float(raw[0].detach()), corrupt_raw)
        if progress is not None:
            progress(2 / 3, "Backward pass")
        grads = torch.autograd.grad(m.value(raw).sum(), [kept[s] for s in sites], allow_unused=True)
    prep = with_metric(prep, m)
    cpos = torch.tensor(prep.positions)
    kpos = cpos + prep.offset
    est: dict[Site, torch.Tensor] = {}
    with torch.no_grad():
        for s, g in zip(sites, grads):
            a_clean = kept[s][0, cpos].detach().double()  # (P, *F)
            delta = corrupt_cache[s][0, kpos].double() - a_clean
            g = torch.zeros_like(a_clean) if g is None else g[0, cpos].double()
            prod = delta * g
            if s.kind == "attn_heads":
                est[s] = prod.sum(dim=(0, 2))  # (H,)
            elif s.kind == "mlp_neurons":
                est[s] = prod.sum(dim=0)  # (M,)
            else:
                est[s] = prod.sum(dim=-1)  # (P,)
    kept.clear()

    def stack(kind: str, n: int) -> np.ndarray:
        return torch.stack([est[Site(kind, l)] for l in range(n)]).cpu().numpy()

    out = Attribution(prep, stack("resid", L + 1), stack("attn_out", L), stack("mlp_out", L), stack("attn_heads", L),
                      stack("mlp_neurons", L), time.perf_counter() - t0)
    if progress is not None:
        progress(1.0, "Attribution done")
    return out


@dataclass(frozen=True, eq=False)
class Checked:
    """Estimate and exact effect (Δ metric, corrupted into clean) for some components."""

    components: tuple[Component, ...]
    estimates: np.ndarray
    exact: np.ndarray
    seconds: float

    @property
    def correlation(self) -> float | None:
        if len(self.exact) < 2 or np.std(self.exact) == 0 or np.std(self.estimates) == 0:
            return None
        return float(np.corrcoef(self.estimates, self.exact)[0, 1])

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"component": c.kind, "layer": c.layer, "position": c.position, "index": c.index,
                              "label": c.label(), "estimate": float(e), "exact": float(x)}
                             for c, e, x in zip(self.components, self.estimates, self.exact)],
                            columns=["component", "layer", "position", "index", "label", "estimate", "exact"])

    def to_dict(self) -> dict:
        return {"kind": "attribution_check", "correlation": self.correlation, "seconds": self.seconds,
                "records": self.frame().to_dict(orient="records")}


def exact_check(lm: LoadedModel, attr: Attribution, comps, progress: Progress | None = None) -> Checked:
    """Run the exact patch (corrupted into clean) of each component, batched, beside its estimate."""
    comps = tuple(comps)
    t0 = time.perf_counter()
    vals = run_components(lm, attr.prep, comps, direction="noise", progress=progress, label="Exact check")
    exact = vals - attr.metric.value(attr.metric.clean_raw)
    return Checked(comps, np.array([attr.estimate(c) for c in comps]), exact, time.perf_counter() - t0)


def all_heads(lm: LoadedModel) -> list[Component]:
    return [Component("head", l, None, h) for l in range(lm.adapter.n_layers) for h in range(lm.adapter.n_heads)]
