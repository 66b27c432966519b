"""A link that promises one ablation asks for no generation: the top-k bars arrive at once (generation waits
until the user asks), which is what keeps a followed link's work small enough to run by itself."""
from types import SimpleNamespace

from interp_core.estimates import ablate_flops
from ui.links import LINK_GENERATE, playground_values

INFO = SimpleNamespace(n_layers=18, d_model=640, d_mlp=2048, vocab_size=262144)


def test_playground_links_ask_for_no_generation():
    v = playground_values("The Eiffel Tower is located in the city of", " Paris", "resid", 5, pos="chosen", pos_list=3)
    assert v["ab_gen"] == LINK_GENERATE == 0
    assert ablate_flops(INFO, 12, v["ab_gen"]) < ablate_flops(INFO, 12, 10) / 3  # ten greedy tokens cost 3x more
