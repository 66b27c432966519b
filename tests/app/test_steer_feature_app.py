"""Steering with an SAE feature (AppTest, tiny GPT-2): a link with src=feature opens the playground's steering
mode on a trained SAE's feature and its steered prediction equals adding the feature's unit decoder row, written
here with a plain forward hook; with no SAE the page says how to get one."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PROMPT = "I think that you are"
FEATURE, ALPHA, F = 5, 4.0, 16


def _steer_page(model: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["model"] = model
    at.query_params["ab_mode"] = "Steer"
    for k, v in query.items():
        at.query_params[k] = str(v)
    at.run()
    at.switch_page("pages/ablation.py")
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def env(tiny_dirs, monkeypatch, tmp_path):
    monkeypatch.setenv("LOOKING_GLASS_ALLOWED_ROOTS", str(tiny_dirs["gpt2"].parent))
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LOOKING_GLASS_WARMUP", "0")
    return str(tiny_dirs["gpt2"])


def _trained_sae(model: str) -> tuple[object, str, torch.Tensor]:
    """A random TopK SAE on blocks.1.hook_resid_post saved where `sae train` saves -> (lm, its id, W_dec)."""
    from interp_core import load_model, make_spec
    from interp_core.features import SAE, save_saelens
    from interp_core.features.store import trained_dir

    lm = load_model(make_spec(model, device="cpu"))
    d = lm.adapter.d_model
    g = torch.Generator().manual_seed(1)
    sae = SAE(W_enc=torch.randn(d, F, generator=g) / d ** 0.5, W_dec=torch.randn(F, d, generator=g),
              b_enc=torch.zeros(F), b_dec=torch.zeros(d), architecture="topk", k=4, threshold=None,
              apply_b_dec_to_input=True, hook_name="blocks.1.hook_resid_post", model_name=lm.spec.name)
    save_saelens(sae, trained_dir() / "tiny_feature_sae")
    return lm, "tiny_feature_sae", sae.W_dec.detach().clone()


def _plain_steered_logits(lm, prompt: str, vec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(clean, steered) last-position logits: `vec` added to block 1's output at every position by a plain hook."""
    ids = lm.tokenizer(prompt, return_tensors="pt").input_ids

    def hook(_m, _a, out):
        h = out[0] if isinstance(out, tuple) else out
        new = h + vec.to(h.dtype)
        return (new, *out[1:]) if isinstance(out, tuple) else new

    with torch.inference_mode():
        clean = lm.model(input_ids=ids).logits[0, -1].float()
        handle = lm.adapter.blocks()[1].register_forward_hook(hook)
        try:
            steered = lm.model(input_ids=ids).logits[0, -1].float()
        finally:
            handle.remove()
    return clean, steered


def test_feature_link_opens_a_finished_comparison_equal_to_the_decoder_row(env):
    from ui.runner import STORE

    lm, sae_id, W_dec = _trained_sae(env)
    at = _steer_page(env, sv_prompt=PROMPT, sv_src="feature", sv_sae=sae_id, sv_feature=FEATURE,
                     sv_site="resid_pre", sv_layer=2, sv_alpha=ALPHA, sv_unit="abs", sv_gen=0, sv_alphas="0,1")
    assert not at.error, [e.value for e in at.error]
    assert at.radio(key="sv_src").value == "feature"
    assert at.selectbox(key="sv_sae").value == sae_id
    assert at.number_input(key="sv_feature").value == FEATURE
    assert any(m.label.startswith("Typical norm at resid_pre 2") for m in at.metric), [m.label for m in at.metric]
    res = at.session_state[STORE].latest("sv")[0]
    assert res.direction.kind == "feature" and f"feature {FEATURE}" in res.direction.label

    row = W_dec[FEATURE].float()  # (D,) the feature's decoder row, made unit length as steering does
    clean, steered = _plain_steered_logits(lm, PROMPT, ALPHA * row / row.norm())
    assert len(res.tokens) == lm.tokenizer(PROMPT, return_tensors="pt").input_ids.shape[1]
    want = steered.softmax(-1)
    top = want.topk(len(res.steered.top))
    assert [t.prob for t in res.steered.top] == pytest.approx(top.values.tolist(), abs=1e-5)
    assert [t.logit for t in res.steered.top] == pytest.approx(steered[top.indices].tolist(), abs=1e-4)
    assert [t.token for t in res.steered.top] == list(lm.token_strings(top.indices.tolist()))
    kl = float((clean.log_softmax(-1).exp() * (clean.log_softmax(-1) - steered.log_softmax(-1))).sum())
    assert kl > 1e-4, "the feature's direction changes the prediction"
    assert res.kl == pytest.approx(kl, rel=1e-3, abs=1e-6)
    assert res.added_norm == pytest.approx(ALPHA, rel=1e-5)


def test_no_sae_says_how_to_get_one(env):
    at = _steer_page(env, sv_src="feature")
    assert not at.error, [e.value for e in at.error]
    infos = [i.value for i in at.info]
    assert any("No SAE for this model yet" in i and "sae train" in i for i in infos), infos
    assert not any(m.label.startswith("Typical norm") for m in at.metric)
