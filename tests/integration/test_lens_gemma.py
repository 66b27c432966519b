"""The logit lens on the embedded Gemma 3 270M (262,144-token vocabulary, streamed in chunks)."""
from __future__ import annotations

import numpy as np
import torch

from interp_core.lens import compute_lens, trajectory
from interp_core.lens import next_token_sweep

EIFFEL = "The Eiffel Tower is located in the city of"


def test_eiffel_paris_snaps_in_upper_layers(gemma):
    res = compute_lens(gemma, EIFFEL, top_k=5)
    paris = gemma.token_id(" Paris")
    with torch.inference_mode():
        logits = gemma.model(input_ids=gemma.encode(EIFFEL).input_ids).logits[0, -1].float()  # (V,)
    vals, ids = logits.topk(5)
    np.testing.assert_array_equal(res.top_ids[-1, -1], ids.numpy())  # last layer == the model's own logits
    np.testing.assert_allclose(res.top_logits[-1, -1], vals.numpy(), rtol=0, atol=1e-4)
    z = (logits.max() - logits.mean()) / logits.std(unbiased=False)
    assert abs(float(res.zscore[-1, -1]) - float(z)) < 1e-3
    top1 = res.top_ids[:, -1, 0]
    assert (top1[-4:] == paris).all() and (top1[:8] != paris).all()
    tr = trajectory(res)
    assert tr.target == " Paris" and tr.snap_layer is not None and 10 <= tr.snap_layer <= 18
    assert tr.zscore[-1] > tr.zscore[:6].max()  # Paris stands out of the vocabulary only late
    sweep = next_token_sweep(res)
    assert sweep.zscore.shape == (19, len(res.tokens) - 1)
    assert gemma.num_hooks() == 0
