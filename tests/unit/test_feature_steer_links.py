"""'Steer with this feature' and the steering mode's feature source: the link's sv_* values, where a feature's
write is steered, and the direction spec the values name (no model)."""
import pytest

from interp_core.ablation.directions import DirectionSpec
from interp_core.errors import UserError
from ui.jobs.features import write_place
from ui.jobs.steer import SOURCE_LABELS, SOURCES, direction_spec
from ui.links import STEER_MODE
from ui.sections.features import FEATURE_ALPHA, feature_steering_values


def test_feature_link_values():
    v = feature_steering_values("Alice was", "my_sae", 17, "resid_pre", 6)
    assert v == {"ab_mode": STEER_MODE, "sv_prompt": "Alice was", "sv_site": "resid_pre", "sv_layer": 6,
                 "sv_src": "feature", "sv_sae": "my_sae", "sv_feature": 17, "sv_alpha": FEATURE_ALPHA,
                 "sv_unit": "norm"}
    assert direction_spec(v) == DirectionSpec.of("feature", sae="my_sae", feature=17)


def test_write_place():
    assert write_place("resid", 7, 18) == ("resid_pre", 7)  # the hidden state after block 6 is block 7's input
    assert write_place("resid", 18, 18) == ("resid_post", 17)  # after the last block
    assert write_place("mlp_neurons", 3, 18) == ("mlp_out", 3)
    assert write_place("attn_heads", 3, 18) == ("attn_out", 3)
    assert write_place("attn_out", 2, 18) == ("attn_out", 2)


def test_feature_source_in_the_ui():
    assert "feature" in SOURCES and SOURCE_LABELS["feature"] == "an SAE feature's decoder direction"
    with pytest.raises(UserError, match="train one in the neuron explorer"):
        direction_spec({"sv_src": "feature", "sv_sae": " ", "sv_feature": 0})
