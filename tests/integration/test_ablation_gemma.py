"""On the embedded Gemma 3 270M: which MLPs carry ' Paris' for the Eiffel prompt, and nothing is left behind."""
from interp_core.ablation import run_ablation, sweep
from interp_core.engine.integrity import weights_checksum
from interp_core.ablation import Ablation

EIFFEL = "The Eiffel Tower is located in the city of"


def test_eiffel_layer_sweep_and_clean_model(gemma):
    before = weights_checksum(gemma)
    seen = []
    sw = sweep(gemma, EIFFEL, Ablation("mlp_out", 0, "zero"), "layers", target=" Paris",
               progress=lambda f, m: seen.append(f))
    f = sw.frame()
    assert sw.clean.top[0].token == " Paris" and sw.clean.target_prob > 0.5
    assert list(f["layer"]) == list(range(18)) and len(seen) == 19 and seen[-1] == 1.0
    assert set(f.nsmallest(2, "target_prob_delta")["layer"]) == {1, 3}
    assert (f.set_index("layer").loc[[1, 3], "target_prob_ablated"] < 0.1).all()
    # zeroing MLP 3 changes the greedy continuation from its first token; the last MLP's effect is all direct
    r = run_ablation(gemma, EIFFEL, Ablation("mlp_out", 3, "zero"), target=" Paris", generate=3)
    assert r.generation_clean[0] == " Paris" and r.first_divergence == 0
    last = run_ablation(gemma, EIFFEL, Ablation("mlp_out", 17, "zero"), target=" Paris", self_repair=True)
    assert abs(last.self_repair.direct_effect - last.self_repair.total_effect) < 1e-3
    assert gemma.num_hooks() == 0
    assert weights_checksum(gemma) == before


def test_generation_reads_the_float16_screen_and_keeps_the_tokens(gemma):
    """The real 262,144-token head is screened (engine/argmax.py); 10 clean and ablated tokens equal the no-cache
    path, which decodes every logit in float32."""
    from interp_core.ablation.generation import greedy_pair, greedy_uncached
    from interp_core.ablation.interventions import make_intervention, resolve_positions
    from interp_core.engine.argmax import screenable

    assert screenable(gemma.adapter.unembed_module(), gemma.adapter.finish_is_identity())
    ids = gemma.encode(EIFFEL).input_ids
    ab = Ablation("mlp_out", 3, "zero")
    hooks = {ab.hook_site: make_intervention(ab, resolve_positions(ab.positions, ids.shape[1]), prompt_len=ids.shape[1])}
    clean, ablated = greedy_pair(gemma, ids, 10, hooks)
    assert clean == greedy_uncached(gemma, ids, 10) and ablated == greedy_uncached(gemma, ids, 10, hooks)
    assert clean != ablated and gemma.num_hooks() == 0
