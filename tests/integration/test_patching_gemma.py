"""The ready-made patching pairs on the embedded Gemma 3 270M: same length, single-token answers, and the
model prefers each pair's target on the clean prompt and its foil on the corrupted one."""
import pytest

from interp_core.patching import PAIRS, prepare

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", list(PAIRS))
def test_pairs_run_offline_on_gemma(gemma, name):
    pair = PAIRS[name]
    assert len(gemma.encode(pair.clean).tokens) == len(gemma.encode(pair.corrupt).tokens)
    gemma.token_id(pair.target), gemma.token_id(pair.foil)  # single tokens, or a UserError
    prep = prepare(gemma, pair.clean, pair.corrupt, pair.target, pair.foil)
    assert prep.metric.clean_raw > 0 > prep.metric.corrupt_raw  # target wins clean, foil wins corrupted
    assert prep.positions == tuple(range(len(prep.clean.tokens)))
