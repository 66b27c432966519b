"""The float16-screened argmax is the argmax of the exact logits: random heads, exact ties, near ties, biases, in-place
weight edits, and a kernel whose errors break the bound (then it declines and the caller decodes in full)."""
import pytest
import torch
from torch import nn

from interp_core.engine import argmax
from interp_core.engine.argmax import argmax_tokens, screenable


def _head(v=4000, d=48, bias=False, seed=0):
    torch.manual_seed(seed)
    head = nn.Linear(d, v, bias=bias)
    with torch.no_grad():
        head.weight.normal_(0, 0.05)
        if bias:
            head.bias.normal_(0, 1.0)
    return head


@pytest.mark.parametrize("bias", [False, True])
def test_screened_argmax_equals_the_full_argmax(bias):
    head = _head(bias=bias)
    g = torch.Generator().manual_seed(1)
    for scale in (0.1, 1.0, 30.0, 300.0):
        h = torch.randn(16, 48, generator=g) * scale  # (R, D)
        with torch.inference_mode():
            want = head(h).argmax(-1).tolist()
        assert argmax_tokens(head, h) == want


def test_ties_and_near_ties_are_settled_exactly():
    head = _head()
    with torch.no_grad():
        head.weight[17] = head.weight[3]  # exact tie: the first index wins, as torch.argmax picks it
        head.weight[900] = head.weight[3] * (1 + 1e-6)  # within float16 noise of the tie, larger in float32
    h = head.weight[3].detach()[None] * 50  # (1, D): token 3's own direction makes 3, 17 and 900 the contenders
    with torch.inference_mode():
        want = (h.double() @ head.weight.double().T).argmax(-1).tolist()
    assert want == [900]
    assert argmax_tokens(head, h) == want
    with torch.no_grad():
        head.weight[900] = head.weight[3]
    assert argmax_tokens(head, h) == [3]  # an in-place edit rebuilds the float16 copy


def test_declines_when_the_kernel_breaks_the_bound(monkeypatch):
    monkeypatch.setattr(argmax, "_bound", lambda h, screen, scr: torch.zeros_like(scr))
    head = _head(seed=2)
    assert argmax_tokens(head, torch.randn(2, 48)) is None


def test_declines_on_non_finite_states():
    head = _head(seed=3)
    h = torch.randn(2, 48)
    h[1, 0] = float("inf")
    assert argmax_tokens(head, h) is None


def test_only_large_plain_float32_cpu_heads_are_screened(monkeypatch):
    head = _head()
    assert not screenable(head, True)  # 4000 x 48 is below the default size
    monkeypatch.setattr(argmax, "SCREEN_MIN_ELEMS", 0)
    assert screenable(head, True)
    assert not screenable(head, False)  # soft-capped logits: decoded in full
    assert not screenable(nn.Sequential(head), True)
    assert not screenable(head.to(torch.float64), True)
    monkeypatch.setenv("LOOKING_GLASS_ARGMAX_SCREEN", "0")
    assert not screenable(head.to(torch.float32), True)
