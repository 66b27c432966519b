"""Our SAE loader and encoder against sae-lens itself: SAEs built and saved by sae-lens, in every architecture, read
back by `interp_core.features` and encoded on the same inputs as sae-lens' `SAE.encode` (within 1e-5).

sae-lens pins transformer-lens < 4, which the benchmarks' TransformerLens 4 peer cannot share, so it lives in its own
environment: `python -m venv --system-site-packages .venv-sae && .venv-sae/bin/pip install -r requirements-sae.txt`,
then run this file with `.venv-sae/bin/python -m pytest`. Without sae-lens the module is skipped."""
from __future__ import annotations

import pytest
import torch

sae_lens = pytest.importorskip("sae_lens")

from interp_core.features import load_path  # noqa: E402

D_IN, D_SAE = 24, 64


def _randomize(sae, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sae.named_parameters():
            if name == "threshold":
                p.copy_(torch.rand(p.shape, generator=g) * 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)


def _inference_sae(arch: str, **cfg):
    from sae_lens import SAE
    from sae_lens.saes.sae import SAEMetadata

    meta = SAEMetadata(hook_name="blocks.1.hook_resid_post", model_name="tiny")
    base = {"d_in": D_IN, "d_sae": D_SAE, "architecture": arch, "metadata": meta.to_dict(), **cfg}
    return SAE.from_dict(base)


CASES = [
    ("standard", {"apply_b_dec_to_input": True}),
    ("standard", {"apply_b_dec_to_input": False, "normalize_activations": "constant_norm_rescale"}),
    ("standard", {"apply_b_dec_to_input": True, "normalize_activations": "layer_norm"}),
    ("jumprelu", {"apply_b_dec_to_input": False}),
    ("jumprelu", {"apply_b_dec_to_input": True}),
    ("topk", {"k": 5, "apply_b_dec_to_input": True}),
    ("topk", {"k": 7, "apply_b_dec_to_input": False, "rescale_acts_by_decoder_norm": True}),
]


@pytest.mark.parametrize("arch,cfg", CASES, ids=[f"{a}-{i}" for i, (a, _) in enumerate(CASES)])
def test_encode_and_decode_equal_saelens(tmp_path, arch, cfg):
    ref = _inference_sae(arch, **cfg)
    _randomize(ref, seed=len(arch) + len(cfg))
    ref.save_model(tmp_path)
    ours = load_path(tmp_path)
    assert ours.hook_name == "blocks.1.hook_resid_post" and ours.model_name == "tiny"
    x = torch.randn(3, 11, D_IN, generator=torch.Generator().manual_seed(1)) * 2
    with torch.no_grad():
        want = ref.encode(x)
        got = ours.encode(x)
        assert (want > 0).any(), "the reference fired no latent: the comparison would be empty"
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(ours.decode(got, x), ref.decode(want), atol=1e-5, rtol=1e-5)


def test_batchtopk_saved_for_inference_equals_saelens(tmp_path):
    """sae-lens saves a trained BatchTopK SAE as a JumpReLU with its learned threshold; so do we read it."""
    from sae_lens.saes.batchtopk_sae import BatchTopKTrainingSAE, BatchTopKTrainingSAEConfig
    from sae_lens.saes.sae import SAEMetadata

    cfg = BatchTopKTrainingSAEConfig(d_in=D_IN, d_sae=D_SAE, k=6,
                                     metadata=SAEMetadata(hook_name="blocks.0.hook_mlp_out", model_name="tiny"))
    train = BatchTopKTrainingSAE(cfg)
    _randomize(train, seed=3)
    train.topk_threshold = torch.tensor(0.4)
    train.save_inference_model(tmp_path)
    from sae_lens import SAE

    ref = SAE.load_from_disk(tmp_path)
    ours = load_path(tmp_path)
    assert ours.threshold is not None and ours.hook_name == "blocks.0.hook_mlp_out"
    x = torch.randn(4, 9, D_IN, generator=torch.Generator().manual_seed(2)) * 2
    with torch.no_grad():
        want = ref.encode(x)
        assert (want > 0).any()
        torch.testing.assert_close(ours.encode(x), want, atol=1e-5, rtol=1e-5)


def test_our_saved_topk_sae_loads_in_saelens(tmp_path):
    """What `sae train` writes is the SAELens format: sae-lens loads it and encodes as we do."""
    from sae_lens import SAE

    from interp_core.features import SAE as OurSAE
    from interp_core.features import save_saelens

    g = torch.Generator().manual_seed(5)
    ours = OurSAE(W_enc=torch.randn(D_IN, D_SAE, generator=g), W_dec=torch.randn(D_SAE, D_IN, generator=g),
                  b_enc=torch.randn(D_SAE, generator=g), b_dec=torch.randn(D_IN, generator=g), architecture="topk", k=4,
                  apply_b_dec_to_input=True, hook_name="blocks.2.hook_resid_post", model_name="tiny")
    save_saelens(ours, tmp_path, {"looking_glass_report": {"explained_variance": 0.5}})
    ref = SAE.load_from_disk(tmp_path)
    x = torch.randn(5, D_IN, generator=g)
    with torch.no_grad():
        torch.testing.assert_close(ours.encode(x), ref.encode(x), atol=1e-5, rtol=1e-5)
    assert ref.cfg.metadata.hook_name == "blocks.2.hook_resid_post"


def test_batchtopk_batch_level_encode_equals_saelens():
    """Without a learned threshold, BatchTopK keeps the k x N strongest activations of the whole batch."""
    from sae_lens.saes.batchtopk_sae import BatchTopKTrainingSAE, BatchTopKTrainingSAEConfig

    from interp_core.features import SAE as OurSAE

    ref = BatchTopKTrainingSAE(BatchTopKTrainingSAEConfig(d_in=D_IN, d_sae=D_SAE, k=3))
    _randomize(ref, seed=9)
    ours = OurSAE(W_enc=ref.W_enc.detach(), W_dec=ref.W_dec.detach(), b_enc=ref.b_enc.detach(),
                  b_dec=ref.b_dec.detach(), architecture="batchtopk", k=3, hook_name="blocks.0.hook_resid_post",
                  apply_b_dec_to_input=ref.cfg.apply_b_dec_to_input,
                  rescale_acts_by_decoder_norm=ref.cfg.rescale_acts_by_decoder_norm)
    x = torch.randn(6, 5, D_IN, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        want = ref.encode(x)
        assert int((want > 0).sum()) <= 3 * 30 and (want > 0).any()
        torch.testing.assert_close(ours.encode(x), want, atol=1e-5, rtol=1e-5)
