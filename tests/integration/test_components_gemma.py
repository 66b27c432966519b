"""Component views on the embedded Gemma 3 270M: sliding-window and global layers, GQA, DLA of ' Paris' − ' Rome'."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core.components import attention_patterns, direct_logit_attribution

pytestmark = pytest.mark.slow
EIFFEL = "The Eiffel Tower is located in the city of"


def test_gemma_patterns_equal_hf_eager_and_label_layer_kinds(gemma, monkeypatch):
    # a 530-token prompt so the 512-token sliding window really cuts rows
    monkeypatch.setenv("LOOKING_GLASS_MAX_ATTENTION_TOKENS", "1024")
    prompt = " ".join(["The Eiffel Tower is located in the city of Paris."] * 48)
    ap = attention_patterns(gemma, prompt, layers=[0, 5])
    t = len(ap.tokens)
    window = gemma.model.config.sliding_window
    assert t > window
    assert ap.kinds == ("sliding", "global") and ap.windows == (window, None)
    assert ap.n_kv_heads == 1 and ap.n_heads == 4
    ids = gemma.encode(prompt).input_ids
    with gemma.lock, gemma.adapter.eager_attention(), torch.inference_mode():
        ref = gemma.model.model(input_ids=ids, output_attentions=True).attentions  # no 262k-wide logits
    for i, lay in enumerate(ap.layers):
        np.testing.assert_allclose(ap.patterns[i], ref[lay][0].float().numpy(), rtol=0, atol=1e-5)
        assert np.all(ap.patterns[i][:, ~ap.allowed(lay)] == 0)
    np.testing.assert_allclose(ap.patterns.sum(-1), 1.0, atol=1e-5)
    assert ap.patterns[0][:, -1, : t - window].max() == 0  # sliding: the last query cannot see the start
    assert ap.patterns[1][:, -1, 0].min() > 0  # global: it can
    assert gemma.num_hooks() == 0


def test_gemma_dla_paris_minus_rome_adds_up(gemma):
    d = direct_logit_attribution(gemma, EIFFEL, " Paris", foil=" Rome")
    assert d.position == len(d.tokens) - 1
    assert d.actual > 0  # the model prefers Paris
    assert d.total == pytest.approx(d.actual, abs=1e-3)
    np.testing.assert_allclose(d.heads.sum(1), d.attn, atol=1e-3)  # frozen post-attention norm: heads split exactly
    assert not d.softcapped
