"""Steering on tiny random models of every family, checked against plain PyTorch hooks written here: the steered
logits, α = 0, contrast directions, KV-cached steered generation, and saved vectors."""
import pytest
import torch

from interp_core import UserError
from interp_core.ablation.directions import Direction, DirectionSpec, build_direction
from interp_core.ablation.generation import Sampling, final_resid, generate_rows, greedy_uncached
from interp_core.ablation.steer import Steer, make_steer, steering_vector
from interp_core.ablation.steer_run import coherence, parse_alphas, run_steer, steer_sweep
from interp_core.ablation.vectors import load_vector, save_vector, vector_bytes, vector_from_bytes

PROMPT = "The Eiffel Tower is located in the city of"
DECODERS = ("gpt2", "gpt_neo", "gemma3", "llama")
SITES = ("resid_pre", "resid_post", "attn_out", "mlp_out")


def _prompt(lm):
    return PROMPT + (" [MASK]" if lm.adapter.masked_lm else "")


def _module(model, family: str, site: str, layer: int):
    """(module, 'pre' | 'post') where a plain hook adds the vector, written from the HF module tree directly."""
    if family in ("gpt2", "gpt_neo"):
        block = model.transformer.h[layer]
        attn, mlp = block.attn, block.mlp
    elif family in ("llama", "gemma3"):
        block = model.model.layers[layer]
        attn, mlp = block.self_attn, block.mlp
        if family == "gemma3":  # sandwich norms: the residual stream receives the post-norms' outputs
            attn, mlp = block.post_attention_layernorm, block.post_feedforward_layernorm
    else:  # bert: the dense outputs before add & LayerNorm
        block = model.bert.encoder.layer[layer]
        attn, mlp = block.attention.output.dense, block.output.dense
    return {"resid_pre": (block, "pre"), "resid_post": (block, "post"), "attn_out": (attn, "post"),
            "mlp_out": (mlp, "post")}[site]


def _plain_logits(lm, family, site, layer, vec, mask):
    """Logits of one pass with a hand-written hook adding `vec` (D,) at the positions in `mask` (T,)."""
    module, kind = _module(lm.model, family, site, layer)

    def add(x):
        return x + mask.view(1, -1, 1).to(x.dtype) * vec.to(x.dtype)

    if kind == "pre":
        def hook(mod, args, kwargs):
            if args:
                return (add(args[0]), *args[1:]), kwargs
            return args, {**kwargs, "hidden_states": add(kwargs["hidden_states"])}
        h = module.register_forward_pre_hook(hook, with_kwargs=True)
    else:
        def hook(mod, args, out):
            return add(out) if isinstance(out, torch.Tensor) else (add(out[0]), *out[1:])
        h = module.register_forward_hook(hook)
    try:
        with torch.no_grad():
            return lm.model(input_ids=lm.encode(_prompt(lm)).input_ids, use_cache=False).logits[0].float()
    finally:
        h.remove()


@pytest.mark.parametrize("family", ("gpt2", "gpt_neo", "bert", "gemma3", "llama"))
@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize("positions", ("all", "from 3", "2,-1"))
def test_steered_logits_equal_a_plain_hook(tiny_models, family, site, positions):
    lm = tiny_models[family]
    layer = 1
    T = lm.encode(_prompt(lm)).input_ids.shape[1]
    mask = torch.zeros(T)
    if positions == "all":
        mask[:] = 1
    elif positions == "from 3":
        mask[3:] = 1
    else:
        mask[[2, T - 1]] = 1
    torch.manual_seed(1)
    raw = torch.randn(lm.adapter.d_model)
    s = Steer(site, layer, alpha=3.0, positions=positions)
    want = _plain_logits(lm, family, site, layer, 3.0 * raw / raw.norm(), mask)  # (T, V)
    enc = lm.encode(_prompt(lm))
    hooks = {s.hook_site: make_steer(steering_vector(raw, s, 1.0), s, T)}
    got = lm.run(enc.input_ids, interventions=hooks).logits[0].float()
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(got, lm.run(enc.input_ids).logits[0].float(), atol=1e-4)  # the control: it changed
    # the whole experiment reports the same steered distribution at the prediction position
    r = run_steer(lm, _prompt(lm), Direction(raw, "vector", "random"), s, top_k=3)
    p_want = torch.softmax(want[r.position].double(), -1)
    assert [t.token_id for t in r.steered.top] == p_want.topk(3).indices.tolist()
    assert r.steered.top[0].prob == pytest.approx(float(p_want.max()), rel=1e-4)
    assert lm.num_hooks() == 0


def test_raw_scale_and_norm_unit(tiny_models):
    lm = tiny_models["llama"]
    v = torch.randn(lm.adapter.d_model)
    assert torch.allclose(steering_vector(v, Steer(alpha=2.0, raw=True), 5.0), 2.0 * v)
    assert torch.allclose(steering_vector(v, Steer(alpha=2.0, alpha_unit="norm"), 5.0), 10.0 * v / v.norm())
    r = run_steer(lm, PROMPT, Direction(v, "vector", "v"), Steer("resid_pre", 2, 1.5, "norm"))
    enc = lm.encode(PROMPT)
    x = lm.run(enc.input_ids, capture=[r.steer.hook_site], need_logits=False).cache[r.steer.hook_site][0]
    keep = enc.input_ids[0] != lm.tokenizer.bos_token_id  # special tokens left out of the typical norm
    assert r.typical_norm == pytest.approx(float(x[keep].norm(dim=-1).mean()), rel=1e-5)
    assert r.added_norm == pytest.approx(1.5 * r.typical_norm, rel=1e-5)


@pytest.mark.parametrize("family", ("gpt2", "bert", "gemma3"))
def test_alpha_zero_is_bit_identical(tiny_models, family):
    lm = tiny_models[family]
    d = Direction(torch.randn(lm.adapter.d_model), "vector", "v")
    s = Steer("resid_post", 1, alpha=0.0)
    enc = lm.encode(_prompt(lm))
    hooks = {s.hook_site: make_steer(steering_vector(d.vector, s, 1.0), s, enc.input_ids.shape[1])}
    assert torch.equal(final_resid(lm, enc.input_ids, hooks)[0], final_resid(lm, enc.input_ids)[0])
    r = run_steer(lm, _prompt(lm), d, s, generate=0 if lm.adapter.masked_lm else 8)
    assert r.clean == r.steered and r.kl == 0.0
    assert r.generation_clean == r.generation_steered and r.first_divergence is None


@pytest.mark.parametrize("family", ("gpt2", "gemma3", "bert"))
@pytest.mark.parametrize("positions", ("last", "all"))
def test_contrast_is_the_difference_of_means(tiny_models, family, positions):
    lm = tiny_models[family]
    a, b = ["Alice was beginning", "The Red Queen ran"], ["the black kitten"]
    layer = 2
    block = _module(lm.model, family, "resid_pre", layer)[0]
    special = set(lm.tokenizer.all_special_ids)

    def mean_of(prompts):
        per = []
        for p in prompts:
            got = {}

            def keep_input(m, args, kw, got=got):
                got["x"] = (args[0] if args else kw["hidden_states"])[0].detach()  # (T, D)
            h = block.register_forward_pre_hook(keep_input, with_kwargs=True)
            try:
                ids = lm.tokenizer(p, return_tensors="pt")["input_ids"]
                with torch.no_grad():
                    lm.model(input_ids=ids, use_cache=False)
            finally:
                h.remove()
            keep = [i for i, t in enumerate(ids[0].tolist()) if t not in special]
            per.append(got["x"][-1] if positions == "last" else got["x"][keep].mean(0))
        return torch.stack(per).mean(0)

    want = mean_of(a) - mean_of(b)
    spec = DirectionSpec.of("contrast", a="\n".join(a), b=b[0], positions=positions)
    d = build_direction(lm, spec, Steer("resid_pre", layer).hook_site)
    torch.testing.assert_close(d.vector, want.float(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("family", DECODERS)
@pytest.mark.parametrize("site,positions", [("resid_pre", "all"), ("mlp_out", "from 4"), ("attn_out", "last"),
                                            ("resid_post", "from -2")])
@pytest.mark.parametrize("sample", [None, Sampling(1.0, 7)])
def test_steered_generation_with_kv_cache_equals_without(tiny_models, family, site, positions, sample):
    lm = tiny_models[family]
    torch.manual_seed(2)
    s = Steer(site, 1, alpha=2.0, alpha_unit="norm", positions=positions)
    enc = lm.encode(PROMPT)
    T = enc.input_ids.shape[1]
    hooks = {s.hook_site: make_steer(steering_vector(torch.randn(lm.adapter.d_model), s, 1.0), s, T)}
    clean, steered = generate_rows(lm, enc.input_ids, 20, [{}, hooks], sample)
    assert steered == greedy_uncached(lm, enc.input_ids, 20, hooks, sample=sample)
    assert clean == greedy_uncached(lm, enc.input_ids, 20, None, sample=sample)
    assert len(steered) == 20 or steered[-1] == lm.tokenizer.eos_token_id


def test_sweep_rows_equal_single_runs(tiny_models):
    lm = tiny_models["gpt2"]
    d = build_direction(lm, DirectionSpec.of("token", token=" the"), Steer().hook_site)
    s = Steer("resid_pre", 1, alpha_unit="norm")
    sw = steer_sweep(lm, PROMPT, d, s, alphas=parse_alphas("-4:4:3"), targets=(" the",), generate=6)
    assert [p.alpha for p in sw.points] == [-4.0, 0.0, 4.0]
    for p in sw.points:
        one = run_steer(lm, PROMPT, d, s.at(alpha=p.alpha), targets=(" the",), generate=6)
        assert p.generation.tokens == one.generation_steered.tokens
        assert p.target_probs[0] == pytest.approx(one.steered_target_probs[0], rel=1e-5)
        assert p.generation.coherence == pytest.approx(one.generation_steered.coherence, rel=1e-5)
    assert sw.points[1].generation.tokens == sw.generation_clean.tokens
    assert len(sw.frame()) == 3 and sw.to_dict()["records"][0]["alpha"] == -4.0


@pytest.mark.parametrize("family", ("llama", "gemma3"))
def test_coherence_is_the_clean_models_mean_log_prob(tiny_models, family):
    lm = tiny_models[family]
    ids = lm.encode(PROMPT).input_ids
    T = ids.shape[1]
    rows = [(5, 9, 11, 40), (7,), ()]
    got = coherence(lm, ids, rows)
    assert got[2] is None
    for row, g in zip(rows[:2], got[:2]):
        with torch.no_grad():
            lp = torch.log_softmax(lm.model(input_ids=torch.cat([ids, torch.tensor([row])], 1)).logits[0].double(), -1)
        want = sum(float(lp[T - 1 + i, t]) for i, t in enumerate(row)) / len(row)
        assert g == pytest.approx(want, rel=1e-5)


def test_direction_sources(tiny_models):
    lm = tiny_models["gpt2"]
    site = Steer().hook_site
    n = build_direction(lm, DirectionSpec.of("neuron", layer=1, index=5), site)
    torch.testing.assert_close(n.vector, lm.model.transformer.h[1].mlp.c_proj.weight[5].float())
    e = build_direction(lm, DirectionSpec.of("resid_dim", dim=3), site)
    assert e.vector[3] == 1 and e.norm == 1
    tid = lm.token_id(" the")
    t = build_direction(lm, DirectionSpec.of("token", token=" the"), site)
    torch.testing.assert_close(t.vector, lm.model.lm_head.weight[tid].float())
    ll = tiny_models["llama"]
    n2 = build_direction(ll, DirectionSpec.of("neuron", layer=0, index=7), site)
    torch.testing.assert_close(n2.vector, ll.model.model.layers[0].mlp.down_proj.weight[:, 7].float())
    for bad, msg in [(DirectionSpec.of("neuron", layer=9, index=0), "out of range"),
                     (DirectionSpec.of("nope"), "Unknown direction source"),
                     (DirectionSpec.of("contrast", a="x", b=""), "both sides")]:
        with pytest.raises(UserError, match=msg):
            build_direction(lm, bad, site)


@pytest.mark.parametrize("fmt", ("safetensors", "npy"))
def test_saved_vector_round_trip_and_width_refusal(tiny_models, tmp_path, fmt):
    lm = tiny_models["gpt2"]
    d = build_direction(lm, DirectionSpec.of("contrast", a="Alice", b="Queen"), Steer("mlp_out", 1).hook_site)
    path = save_vector(d, tmp_path / f"v.{fmt}")
    back = load_vector(str(path))
    assert torch.equal(back.vector, d.vector)
    assert (back.model, back.site) == (d.model, d.site)
    again = vector_from_bytes(vector_bytes(d, fmt), f"u.{fmt}")
    assert torch.equal(again.vector, d.vector)
    spec = DirectionSpec.of("vector", path=str(path))
    assert torch.equal(build_direction(lm, spec, Steer().hook_site).vector, d.vector)
    wide = tmp_path / f"wide.{fmt}"
    save_vector(Direction(torch.randn(lm.adapter.d_model + 1), "vector", "w"), wide)
    with pytest.raises(UserError, match=r"width 33 but .* d_model 32"):
        run_steer(lm, PROMPT, DirectionSpec.of("vector", path=str(wide)), Steer())
    with pytest.raises(UserError, match="not a readable"):
        vector_from_bytes(b"garbage!" * 4, f"g.{fmt}")


def test_bad_inputs_are_one_sentence(tiny_models):
    lm = tiny_models["gpt2"]
    d = Direction(torch.randn(lm.adapter.d_model), "vector", "v")
    for s, msg in [(Steer("resid_pre", 3), "out of range"), (Steer("head", 1), "Unknown site"),
                   (Steer(alpha=float("nan")), "finite"), (Steer(positions="from x"), "not understood"),
                   (Steer(positions="40"), "outside the prompt"), (Steer(alpha_unit="x"), "α unit")]:
        with pytest.raises(UserError, match=msg):
            run_steer(lm, PROMPT, d, s)
    with pytest.raises(UserError, match="start:stop:count"):
        parse_alphas("a:b")
    with pytest.raises(UserError, match="direction is zero"):
        run_steer(lm, PROMPT, Direction(torch.zeros(lm.adapter.d_model), "vector", "0"), Steer())
