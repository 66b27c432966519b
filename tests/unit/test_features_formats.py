"""SAE files without a model: Gemma Scope's params.safetensors (Gemma Scope 2's lower-case keys, the hook read from
the folder names or its config.json) and params.npz, hook names mapped to the one site vocabulary, the Gemma Scope 2
release rule, and one-sentence refusals."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp_core.engine.sites import Site
from interp_core.errors import UserError
from interp_core.features import load_path
from interp_core.features.hooknames import hook_of_site, site_of_hook, train_site
from interp_core.features.hub import resolve_release

D, F = 16, 40


def _weights(upper: bool) -> dict[str, np.ndarray]:
    g = np.random.default_rng(0)
    names = ("W_enc", "W_dec", "b_enc", "b_dec", "threshold") if upper else ("w_enc", "w_dec", "b_enc", "b_dec",
                                                                             "threshold")
    shapes = ((D, F), (F, D), (F,), (D,), (F,))
    return {n: g.standard_normal(s).astype(np.float32) for n, s in zip(names, shapes)}


def _jumprelu(w: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    W_enc = w.get("W_enc", w.get("w_enc"))
    pre = x @ W_enc + w["b_enc"]  # Gemma Scope: no decoder-bias shift of the input
    return np.where(pre > w["threshold"], pre, 0.0) * (pre > 0)


def test_gemma_scope_2_params_safetensors_in_its_folder(tmp_path):
    from safetensors.numpy import save_file

    folder = tmp_path / "resid_post" / "layer_5_width_16k_l0_small"
    folder.mkdir(parents=True)
    w = _weights(upper=False)
    save_file(w, str(folder / "params.safetensors"))
    sae = load_path(folder)
    assert sae.architecture == "jumprelu" and sae.hook_name == "blocks.5.hook_resid_post"
    assert site_of_hook(sae.hook_name) == Site("resid", 6)
    x = np.random.default_rng(1).standard_normal((7, D)).astype(np.float32)
    np.testing.assert_allclose(sae.encode(torch.from_numpy(x)).numpy(), _jumprelu(w, x), rtol=1e-5, atol=1e-5)


def test_gemma_scope_npz_with_config_and_transcoder(tmp_path):
    folder = tmp_path / "transcoder" / "layer_2_width_16k_l0_big_affine"
    folder.mkdir(parents=True)
    w = _weights(upper=True)
    w["affine_skip_connection"] = np.eye(D, dtype=np.float32)
    np.savez(folder / "params.npz", **w)
    (folder / "config.json").write_text(json.dumps({
        "architecture": "jump_relu", "model_name": "gemma-v3-270m-pt",
        "hf_hook_point_in": "model.layers.2.pre_feedforward_layernorm.output",
        "hf_hook_point_out": "model.layers.2.post_feedforward_layernorm.output"}))
    sae = load_path(folder / "params.npz")
    assert sae.is_transcoder and sae.W_skip is not None
    assert site_of_hook(sae.hook_name) == Site("mlp_in", 2) and site_of_hook(sae.hook_name_out or "") == Site("mlp_out", 2)
    x = np.random.default_rng(2).standard_normal((3, D)).astype(np.float32)
    z = sae.encode(torch.from_numpy(x))
    np.testing.assert_allclose(z.numpy(), _jumprelu(w, x), rtol=1e-5, atol=1e-5)
    out = z @ torch.from_numpy(w["W_dec"]) + torch.from_numpy(w["b_dec"]) + torch.from_numpy(x)  # skip: identity
    torch.testing.assert_close(sae.decode(z, torch.from_numpy(x)), out)


@pytest.mark.parametrize("hook,site", [("blocks.0.hook_resid_pre", Site("resid", 0)),
                                       ("blocks.3.hook_resid_post", Site("resid", 4)),
                                       ("blocks.3.attn.hook_z", Site("attn_heads", 3)),
                                       ("blocks.3.hook_mlp_out", Site("mlp_out", 3)),
                                       ("blocks.3.ln2.hook_normalized", Site("mlp_in", 3)),
                                       ("model.layers.7.output", Site("resid", 8)),
                                       ("model.layers.7.self_attn.o_proj.input", Site("attn_heads", 7))])
def test_hook_names_map_to_sites(hook, site):
    assert site_of_hook(hook) == site


def test_site_hook_round_trip_and_training_sites():
    for s in (Site("resid", 0), Site("resid", 5), Site("mlp_out", 2), Site("attn_out", 1), Site("mlp_in", 4)):
        assert site_of_hook(hook_of_site(s)) == s
    assert hook_of_site(Site("resid", 5)) == "blocks.4.hook_resid_post"
    assert train_site("resid_post", 3) == Site("resid", 4)
    with pytest.raises(UserError, match="Unknown SAE training site"):
        train_site("resid_mid", 3)
    with pytest.raises(UserError, match="no site for"):
        site_of_hook("blocks.1.hook_resid_mid")


def test_gemma_scope_2_release_rule():
    assert resolve_release("gemma-scope-2-270m-pt-res", "layer_12_width_16k_l0_medium") == (
        "google/gemma-scope-2-270m-pt", "resid_post/layer_12_width_16k_l0_medium", "google/gemma-3-270m")
    assert resolve_release("gemma-scope-2-270m-pt-transcoders", "transcoder/layer_9_width_16k_l0_small_affine")[1] \
        == "transcoder/layer_9_width_16k_l0_small_affine"
    assert resolve_release("gemma-scope-2-1b-it-mlp-all", "layer_3_width_16k_l0_big")[1:] == (
        "mlp_out_all/layer_3_width_16k_l0_big", "google/gemma-3-1b-it")
    with pytest.raises(UserError, match="Unknown SAE release"):
        resolve_release("nobody-knows", "x")


def test_refusals_are_one_sentence(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_path(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no SAE"):
        load_path(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "params.npz").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="Could not read SAE weights"):
        load_path(bad)
