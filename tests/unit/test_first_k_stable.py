"""first_k_stable (what a neuron writes: its top tokens of 262,144) equals the first k of a full stable argsort,
ties included (the lower token id first)."""
import numpy as np

from interp_core.components.writes import first_k_stable


def test_equals_a_full_stable_argsort_with_many_ties():
    rng = np.random.default_rng(0)
    for _ in range(300):
        keys = rng.integers(0, 20, size=int(rng.integers(1, 400))).astype(np.float32)
        for k in (1, 3, 15, 500):
            assert (first_k_stable(keys, k) == np.argsort(keys, kind="stable")[:k]).all()


def test_real_valued_keys():
    keys = np.random.default_rng(1).standard_normal(262_144).astype(np.float32)
    assert (first_k_stable(-keys, 20) == np.argsort(-keys, kind="stable")[:20]).all()
