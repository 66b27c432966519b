"""Exact greedy (argmax) tokens over a large vocabulary at half the memory traffic, for generation on a CPU.

One decoding step reads the whole unembedding: Gemma 3's 262,144 x 640 float32 matrix is 671 MB, and on a
2-core CPU that read (0.16 s) costs more than the 18 blocks together. A float16 copy is read instead (0.04 s)
to *screen* the vocabulary, with a rigorous bound on how far each screened logit can be from the exact one;
only the tokens that could still be the maximum (1-3 in practice) are recomputed, in float64. So the chosen
token is the argmax of the exact logits, never an approximation (the float32 decoding's argmax, except where two
logits lie within float32 rounding of each other; ties go to the lower token id, as torch.argmax does). The copy
costs half the head's memory (335 MB for Gemma 3 270M); LOOKING_GLASS_ARGMAX_SCREEN=0 turns the screen off. The copy is built once per weight (and self-checked then),
kept beside the model's weights, not in any session.
"""
from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass

import torch
from torch import nn

SCREEN_MIN_ELEMS = 1 << 25  # unembeddings smaller than this (V x D) decode fast enough in float32
_U16 = 2.0 ** -11  # float16 unit roundoff
_U32 = 2.0 ** -24  # float32 unit roundoff


@dataclass(frozen=True)
class _Screen:
    w16: torch.Tensor  # (V, D) float16 copy of the unembedding
    row_norm: torch.Tensor  # (V,) float32 L2 norm of each unembedding row
    version: int  # the weight's in-place version when the copy was made
    weight_id: int  # id() of the weight it copies (a replaced parameter invalidates it)
    ok: bool  # the self-check passed (the bound held on this machine's float16 kernel)


_screens: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # head module -> _Screen
_lock = threading.Lock()


def _bound(h: torch.Tensor, screen: _Screen, scr: torch.Tensor) -> torch.Tensor:
    """(R, V) bound on |screened logit - float32 logit|: rounding h and W to float16 (3u |h_i||w_i| per term, by
    Cauchy-Schwarz 3u ||h|| ||w_j||), float32 accumulation over D terms, rounding the output to float16, and
    float16 underflow of tiny weights (absolute, 2^-25 per term)."""
    d = h.shape[-1]
    hn = h.norm(dim=-1, keepdim=True)  # (R, 1)
    rel = 3 * _U16 + 2 * d * _U32
    return rel * hn * screen.row_norm[None] + 2 * _U16 * scr.abs() + d * 2.0 ** -24 * hn + 1e-6


def _build(weight: torch.Tensor) -> _Screen:
    with torch.inference_mode():
        w = weight.detach()
        w16 = w.to(torch.float16)  # (V, D)
        screen = _Screen(w16, w.float().norm(dim=-1), weight._version, id(weight), True)
        ok = bool(torch.isfinite(w16).all())
        if ok:  # self-check on this machine's kernel: random states, the bound must hold for every token
            g = torch.Generator().manual_seed(0)
            h = torch.randn(4, w.shape[1], generator=g) * torch.tensor([[1.0], [10.0], [100.0], [1000.0]])
            exact = h @ w.float().T
            scr = (h.to(torch.float16) @ w16.T).float()
            ok = bool(torch.isfinite(scr).all() and ((scr - exact).abs() <= _bound(h, screen, scr)).all())
    return screen if ok else _Screen(w16, screen.row_norm, weight._version, id(weight), False)


def _screen_for(head: nn.Linear) -> _Screen:
    weight = head.weight
    with _lock:
        s = _screens.get(head)
        if s is None or s.weight_id != id(weight) or s.version != weight._version:
            s = _build(weight)
            _screens[head] = s
        return s


def screenable(head: nn.Module | None, finish_identity: bool) -> bool:
    """Whether the screened argmax applies: a plain float32 linear head on the CPU, large enough to pay, and
    logits the model uses as they come out of it."""
    if not isinstance(head, nn.Linear) or not finish_identity:
        return False
    if os.environ.get("LOOKING_GLASS_ARGMAX_SCREEN", "1").strip().lower() in ("0", "off", "false", "no"):
        return False
    w = head.weight
    return w.device.type == "cpu" and w.dtype == torch.float32 and w.numel() >= SCREEN_MIN_ELEMS


def argmax_tokens(head: nn.Linear, h: torch.Tensor) -> list[int] | None:
    """The argmax of `head(h)` for each row of h (R, D), reading the float16 copy of the head; None when
    the screen cannot decide (non-finite values, or the self-check failed), and the caller decodes in full."""
    screen = _screen_for(head)
    if not screen.ok:
        return None
    with torch.inference_mode():
        h = h.float()  # (R, D)
        scr = (h.to(torch.float16) @ screen.w16.T).float()  # (R, V)
        if head.bias is not None:
            scr = scr + head.bias.float()
        if not (torch.isfinite(scr).all() and torch.isfinite(h).all()):
            return None
        bound = _bound(h, screen, scr)  # (R, V)
        floor = (scr - bound).amax(-1, keepdim=True)  # (R, 1): the float32 maximum is at least this
        out = []
        for r in range(h.shape[0]):
            cand = torch.nonzero(scr[r] + bound[r] >= floor[r], as_tuple=True)[0]  # ascending token ids
            exact = head.weight[cand].double() @ h[r].double()  # (C,) float64: identical rows give identical logits
            if head.bias is not None:
                exact = exact + head.bias[cand].double()
            out.append(int(cand[int(exact.argmax())]))
        return out

