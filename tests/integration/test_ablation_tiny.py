"""Ablation invariants on tiny random models of every family: identities that must hold exactly."""
import pytest
import torch

from interp_core import Site, UserError
from interp_core.ablation import prediction_positions, run_ablation, sweep
from interp_core.data import Corpus
from interp_core.ablation.generation import final_resid
from interp_core.engine.integrity import weights_checksum
from interp_core.ablation.interventions import Ablation, make_intervention, resolve_positions
from interp_core.ablation.counterfactual import capture_patch, check_patch
from interp_core.ablation.refstats import reference_stats

PROMPT = "The Eiffel Tower is located in the city of"


def _prompt(lm):
    return PROMPT + (" [MASK]" if lm.adapter.masked_lm else "")


def _logits(lm, ab=None, **kw):
    """Final residual stream (1, T, D) after an optional intervention."""
    enc = lm.encode(_prompt(lm))
    hooks = {}
    if ab is not None:
        T = enc.input_ids.shape[1]
        hooks = {ab.hook_site: make_intervention(ab, resolve_positions(ab.positions, T), prompt_len=T, **kw)}
    return final_resid(lm, enc.input_ids, hooks)[0]


SITES = [("resid", 1), ("attn_out", 0), ("head", 1), ("mlp_out", 2), ("neuron", 1), ("embed", None)]


@pytest.mark.parametrize("site,layer", SITES)
def test_scale_one_and_zero_noise_change_nothing(tiny, site, layer):
    extra = {"indices": (0, 5)} if site == "neuron" else {"heads": (1, 2)} if site == "head" else {}
    clean = _logits(tiny)
    one = _logits(tiny, Ablation(site, layer, "scale", scale=1.0, **extra))
    assert torch.equal(clean, one)
    ab = Ablation(site, layer, "noise", noise_std=0.0, **extra)
    stats = reference_stats(tiny, Corpus.from_text(PROMPT), [ab.hook_site], use_cache=False)[ab.hook_site]
    assert torch.equal(clean, _logits(tiny, ab, stats=stats))
    # and the control: a real change does change the output
    assert not torch.equal(clean, _logits(tiny, Ablation(site, layer, "scale", scale=0.0, **extra)))
    assert not torch.equal(clean, _logits(tiny, ab.at(noise_std=1.0), stats=stats))
    assert tiny.num_hooks() == 0


@pytest.mark.parametrize("site,layer", [("resid", 2), ("mlp_out", 1), ("head", 0), ("neuron", 2)])
def test_mean_ablation_with_prompt_as_reference_keeps_the_mean(tiny, site, layer):
    extra = {"indices": (3, 7, 9)} if site == "neuron" else {}
    prompt = _prompt(tiny)
    enc = tiny.encode(prompt)
    special = set(tiny.tokenizer.all_special_ids)
    keep = [i for i, t in enumerate(enc.input_ids[0].tolist()) if t not in special]
    ab = Ablation(site, layer, "mean", positions=tuple(keep), **extra)
    st = reference_stats(tiny, Corpus.from_text(prompt), [ab.hook_site], use_cache=False)[ab.hook_site]
    assert st.n_tokens == len(keep)
    T = len(enc.tokens)
    fn = make_intervention(ab, resolve_positions(ab.positions, T), prompt_len=T, stats=st)
    s = ab.hook_site
    clean = tiny.run(enc.input_ids, capture=[s], need_logits=False).cache[s][0, keep]
    abl = tiny.run(enc.input_ids, capture=[s], interventions={s: fn}, need_logits=False).cache[s][0, keep]
    torch.testing.assert_close(abl.mean(0), clean.mean(0), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(abl, clean)  # every position was replaced by the mean
    assert torch.allclose(abl, abl[:1].expand_as(abl)) if site != "neuron" else True


@pytest.mark.parametrize("site,layer", [("resid", 1), ("attn_out", 2), ("head", 1), ("neuron", 0), ("embed", None)])
def test_patch_from_identical_prompt_changes_nothing(tiny, site, layer):
    extra = {"indices": (1, 2)} if site == "neuron" else {}
    r = run_ablation(tiny, _prompt(tiny), Ablation(site, layer, "patch", **extra), counterfactual=_prompt(tiny),
                     target=None, top_k=5)
    assert r.main.kl == 0.0
    assert r.main.clean == r.main.ablated
    assert all(row["cf_position"] == row["position"] for row in r.alignment)


def test_patch_aligns_from_the_end(tiny_models):
    lm = tiny_models["gpt2"]
    r = run_ablation(lm, PROMPT, Ablation("resid", 1, "patch"), counterfactual="city of")
    rows = r.alignment
    assert rows[-1]["cf_position"] == len(lm.encode("city of").tokens) - 1
    assert rows[0]["cf_position"] is None  # longer clean prompt: its first tokens have no counterpart
    assert r.main.kl > 0


def test_patch_from_another_model_is_refused(tiny_models):
    src = capture_patch(tiny_models["gpt2"], PROMPT, [Site("resid", 1)])
    with pytest.raises(UserError, match="another model"):
        check_patch(tiny_models["llama"], src[Site("resid", 1)], Site("resid", 1))
    with pytest.raises(UserError, match="another model"):
        run_ablation(tiny_models["llama"], PROMPT, Ablation("resid", 1, "patch"), counterfactual=src)
    with pytest.raises(UserError, match="width"):
        check_patch(tiny_models["gpt2"], src[Site("resid", 1)], Site("mlp_neurons", 1))


@pytest.mark.parametrize("family", ["llama", "gemma3", "gpt2", "gpt_neo", "bert"])
@pytest.mark.parametrize("layer", [0, 2])
def test_zeroing_every_head_vs_zeroing_attn_out(tiny_models, family, layer):
    """Exact for bias-free output projections (Llama, Gemma: RMSNorm(0) = 0); GPT-2/Neo/BERT keep the o_proj bias."""
    lm = tiny_models[family]
    enc = lm.encode(_prompt(lm))
    T = enc.input_ids.shape[1]
    heads = Ablation("head", layer, "zero", heads=tuple(range(lm.adapter.n_heads)))
    hook = {heads.hook_site: make_intervention(heads, None, prompt_len=T)}
    attn = Site("attn_out", layer)
    out = lm.run(enc.input_ids, capture=[attn], interventions=hook, need_logits=False).cache[attn]
    bias = lm.adapter.attn_o_proj(layer).bias
    if family in ("llama", "gemma3"):
        assert bias is None
        assert torch.equal(out, torch.zeros_like(out))
        zero_attn = Ablation("attn_out", layer, "zero")
        z = {attn: make_intervention(zero_attn, None, prompt_len=T)}
        torch.testing.assert_close(final_resid(lm, enc.input_ids, hook)[0], final_resid(lm, enc.input_ids, z)[0],
                                   rtol=1e-6, atol=1e-6)
    else:
        torch.testing.assert_close(out, bias.detach().expand_as(out), rtol=0, atol=1e-7)


def test_weights_unchanged_after_a_session(tiny_models):
    for family, lm in tiny_models.items():
        before = weights_checksum(lm)
        prompt = _prompt(lm)
        ref = Corpus.from_text(prompt * 3)
        for m in ("zero", "mean", "median", "noise", "scale", "patch"):
            run_ablation(lm, prompt, Ablation("mlp_out", 1, m, scale=2.0), reference=ref, counterfactual=prompt,
                         generate=0 if lm.adapter.masked_lm else 3,
                         self_repair=not lm.adapter.masked_lm)
        sweep(lm, prompt, Ablation("attn_out", 0, "zero"), "layers")
        sweep(lm, prompt, Ablation("attn_out", 0, "mean"), "heads", reference=ref)
        assert weights_checksum(lm) == before, family
        assert lm.num_hooks() == 0


def test_checksum_sees_a_change(tiny_models):
    lm = tiny_models["llama"]
    before = weights_checksum(lm)
    p = next(lm.model.parameters())
    with torch.no_grad():
        p.view(-1)[0] += 1.0
        changed = weights_checksum(lm)
        p.view(-1)[0] -= 1.0
    assert changed != before and weights_checksum(lm) == before


def test_generation_and_first_divergence(tiny_models):
    lm = tiny_models["llama"]
    same = run_ablation(lm, PROMPT, Ablation("mlp_out", 1, "scale", scale=1.0), generate=5)
    assert same.generation_clean == same.generation_ablated and same.first_divergence is None
    assert len(same.generation_clean) >= 1
    diff = run_ablation(lm, PROMPT, Ablation("resid", 3, "zero"), generate=5)
    assert diff.first_divergence == 0  # zeroing the final stream changes the very first token
    frame = diff.generation_frame()
    assert list(frame.columns) == ["step", "clean", "ablated", "same", "first_divergence"]
    assert frame["first_divergence"].sum() == 1


def test_bert_compares_at_mask_positions(tiny_models):
    lm = tiny_models["bert"]
    r = run_ablation(lm, "the red queen [MASK] faster and [MASK] .", Ablation("mlp_out", 1, "zero"))
    masks = [i for i, t in enumerate(r.tokens) if t == "[MASK]"]
    assert [c.position for c in r.comparisons] == masks and len(masks) == 2
    with pytest.raises(UserError, match=r"\[MASK\]"):
        run_ablation(lm, "no mask here", Ablation("mlp_out", 1, "zero"))
    with pytest.raises(UserError, match="post-LN"):
        run_ablation(lm, "the [MASK] queen", Ablation("mlp_out", 1, "zero"), self_repair=True)


def _is_one_token(lm, tok):
    ids = lm.tokenizer(tok, add_special_tokens=False)["input_ids"]
    return len(ids) == 1 and lm.token_strings(ids) == [tok]


def test_self_repair_last_layer_direct_equals_total(tiny_models):
    """Nothing runs after the last MLP, so its direct and total effects coincide (ratio 1)."""
    lm = tiny_models["gemma3"]
    r = run_ablation(lm, PROMPT, Ablation("mlp_out", 2, "zero"), self_repair=True)
    sr = r.self_repair
    assert abs(sr.direct_effect - sr.total_effect) < 1e-4
    assert sr.ratio == pytest.approx(1.0, abs=1e-3)
    early = run_ablation(lm, PROMPT, Ablation("head", 0, "zero", heads=(0, 1)), self_repair=True)
    top = early.main.clean.top[0]
    assert early.self_repair.target == top.token  # no target given: the clean top-1 token
    assert early.self_repair.clean_logit == pytest.approx(top.logit)
    target = next(t.token for t in early.main.clean.top if _is_one_token(lm, t.token))
    again = run_ablation(lm, PROMPT, Ablation("head", 0, "zero", heads=(0, 1)), self_repair=True, target=target)
    assert again.self_repair.total_logit == pytest.approx(again.main.ablated.target_logit)
    assert again.self_repair.direct_effect != 0.0


@pytest.mark.parametrize("ab,msg", [
    (Ablation("head", 1, "zero", heads=(4,)), "Head 4 is out of range"),
    (Ablation("neuron", 1, "zero", indices=(500,)), "Neuron 500 is out of range"),
    (Ablation("neuron", 1, "zero"), "needs neuron indices"),
    (Ablation("mlp_out", 3, "zero"), "out of range"),
    (Ablation("mlp_out", 1, "mean"), "reference corpus"),
    (Ablation("mlp_out", 1, "patch"), "counterfactual"),
    (Ablation("mlp_out", 1, "zero", positions=(40,)), "outside the prompt"),
    (Ablation("resid", 1, "zero"), "Self-repair measures a component"),
])
def test_bad_input_gets_a_clear_message(tiny_models, ab, msg):
    lm = tiny_models["gpt2"]
    with pytest.raises(UserError, match=msg):
        run_ablation(lm, PROMPT, ab, self_repair=ab.site == "resid")
    assert lm.num_hooks() == 0


def test_missing_reference_file(tiny_models, tmp_path):
    from interp_core.data import load_corpus
    with pytest.raises(UserError):
        load_corpus(str(tmp_path / "nope.txt"))


def test_sweeps(tiny_models):
    lm = tiny_models["gpt2"]
    lay = sweep(lm, PROMPT, Ablation("resid", 0, "zero"), "layers", target=None)
    f = lay.frame()
    assert list(f["layer"]) == [0, 1, 2, 3] and (f["kl"] > 0).all()
    seen = []
    heads = sweep(lm, PROMPT, Ablation("attn_out", 0, "zero"), "heads", progress=lambda p, m: seen.append(p))
    assert len(heads.points) == 12 and seen[-1] == 1.0 and seen == sorted(seen)
    sc = sweep(lm, PROMPT, Ablation("mlp_out", 1, "zero"), "scale", scales=(0.0, 1.0, 2.0))
    kl = sc.frame().set_index("scale")["kl"]
    assert kl[1.0] == 0.0 and kl[0.0] > 0 and kl[2.0] > 0
    with pytest.raises(UserError, match="no layers"):
        sweep(lm, PROMPT, Ablation("embed", None, "zero"), "layers")


def test_progress_exceptions_propagate(tiny_models):
    class Stop(BaseException):
        pass

    def progress(frac, msg):
        raise Stop
    lm = tiny_models["gpt2"]
    with pytest.raises(Stop):
        sweep(lm, PROMPT, Ablation("resid", 0, "zero"), "layers", progress=progress)
    assert lm.num_hooks() == 0


def test_reference_stats_are_cached(tiny_models, tmp_path, monkeypatch):
    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path))
    lm = tiny_models["llama"]
    c = Corpus.from_text(PROMPT * 20)
    s = Site("mlp_out", 1)
    a = reference_stats(lm, c, [s], budget=50)[s]
    assert a.n_tokens == 50
    assert len(list((tmp_path / "refstats").glob("*.pt"))) == 1
    b = reference_stats(lm, c, [s], budget=50)[s]
    assert torch.equal(a.mean, b.mean) and torch.equal(a.median, b.median) and torch.equal(a.std, b.std)
    assert prediction_positions(lm, lm.encode(PROMPT).input_ids) == [len(lm.encode(PROMPT).tokens) - 1]


def test_cli_ablate_json(tiny_dirs, capsys):
    import json

    from interp_core.cli.main import main
    model = str(tiny_dirs["llama"])
    rc = main(["ablate", "--model", model, "--device", "cpu", "--prompt", PROMPT, "--site", "mlp_out", "--layer", "1",
               "--method", "mean", "--reference", "prompt", "--generate", "3", "--self-repair", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert {"clean", "ablated", "kl", "target_prob_delta", "direct_effect", "total_effect", "ratio"} <= set(out)
    assert len(out["clean"]["top"]) == 10 and {"token", "prob"} <= set(out["clean"]["top"][0])
    assert len(out["clean"]["generation"]) == 3
    rc = main(["ablate", "--model", model, "--device", "cpu", "--prompt", PROMPT, "--site", "head", "--layer", "0",
               "--sweep", "layers", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["layer"] for r in out["records"]] == [0, 1, 2] and all("kl" in r for r in out["records"])
    rc = main(["ablate", "--model", model, "--device", "cpu", "--prompt", PROMPT, "--site", "head", "--layer", "0",
               "--head", "9", "--json"])
    assert rc == 1
    captured = capsys.readouterr()
    assert "Head 9 is out of range" in json.loads(captured.out)["error"] and "Traceback" not in captured.err
    rc = main(["ablate", "--model", model, "--device", "cpu", "--prompt", PROMPT, "--site", "resid", "--layer", "1",
               "--method", "mean", "--reference", "/no/such/file.txt"])
    assert rc == 1 and "error:" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["zero", "mean", "noise", "scale", "patch"])
@pytest.mark.parametrize("kind", ["layers", "heads"])
def test_batched_sweep_equals_one_run_per_point(tiny, method, kind, monkeypatch):
    """A sweep runs many points per forward pass (row r = point r); each point equals its own run_ablation.
    Two rows per pass here, so the points span several passes."""
    import sys

    sweep_mod = sys.modules["interp_core.ablation.sweep"]  # (the package exports the function under that name)
    monkeypatch.setattr(sweep_mod, "rows_per_pass", lambda prompt_len, device=None: 2)
    masked = tiny.info.masked_lm
    prompt = f"The Eiffel Tower is located in the city of {tiny.tokenizer.mask_token}." if masked else PROMPT
    cf = prompt.replace("Eiffel Tower", "Colosseum")
    ref = Corpus.from_text("Alice looked round eagerly, and found that it was the Red Queen. " * 4)
    ab = Ablation("attn_out" if kind == "heads" else "mlp_out", 0, method, scale=0.5, noise_std=2.0)
    sw = sweep(tiny, prompt, ab, kind, target=None, top_k=3, reference=ref, counterfactual=cf)
    assert len(sw.points) == (tiny.info.n_layers * tiny.info.n_heads if kind == "heads" else tiny.info.n_layers)
    for pt in sw.points[:6]:
        one = ab.at(site="head", layer=pt.layer, heads=(pt.head,), indices=()) if kind == "heads" else ab.at(layer=pt.layer)
        res = run_ablation(tiny, prompt, one, top_k=3, reference=ref, counterfactual=cf).main
        assert pt.kl == pytest.approx(res.kl, abs=1e-5)
        assert [t.token_id for t in pt.ablated.top] == [t.token_id for t in res.ablated.top]
        for a, b in zip(pt.ablated.top, res.ablated.top):
            assert a.prob == pytest.approx(b.prob, abs=1e-5)
    assert tiny.num_hooks() == 0
