"""Figures and data that once misled on the pages: categorical top-k bars, one probability scale, integer head
ticks, each corpus token once, informative histograms, titles that fit, the offline Gutenberg fallback."""
import numpy as np
import pandas as pd
import pytest

from interp_core.ablation import Ablation, AblationSweep, Comparison, Side, SweepPoint, TokenProb
from interp_core.distributions import DistAccumulator
from interp_core.neurons.seed import SAMPLE_COLUMNS, SeedResult, count_winners
from interp_core.plots.ablation import head_sweep_figure, topk_figure
from interp_core.plots.distributions import histogram_figure, matrix_figure
from interp_core.plots.neurons import top_tokens_figure, winners_figure


def _side(*pairs):
    return Side(tuple(TokenProb(t, i, p, 1.0) for i, (t, p) in enumerate(pairs)), pairs[0][1], 1.0, 1)


def test_top_token_bars_are_categories_even_when_labels_look_numeric():
    # plotly strips quotes and '#' when guessing an axis type: "'" #236789 would become the number 236789
    top = pd.DataFrame({"token_id": [236789] * 5, "token": ["'"] * 5})
    fig = top_tokens_figure(top)
    assert fig.layout.yaxis.type == "category"
    winners = pd.DataFrame({"token": ["'", "1"], "token_id": [236789, 236770], "count": [3, 1], "fraction": [.75, .25]})
    assert winners_figure(winners).layout.yaxis.type == "category"


def test_clean_and_ablated_top_k_share_one_probability_scale():
    c = Comparison(5, " of", _side((" Paris", 0.9), (" the", 0.05)), _side((" the", 0.2), (" a", 0.1)), 1.0)
    fig = topk_figure(c)
    assert fig.layout.xaxis.range is not None and tuple(fig.layout.xaxis.range) == tuple(fig.layout.xaxis2.range)
    assert fig.layout.xaxis.range[1] >= 0.9  # the larger side fits
    assert fig.layout.yaxis.type == "category" and fig.layout.yaxis2.type == "category"


def _sweep(kind="heads"):
    frame_rows = [SweepPoint(l, h, None, _side((" x", 0.5)), 0.1 * (l + h)) for l in range(3) for h in range(4)]
    ab = Ablation("mlp_out", 2, "zero")
    return AblationSweep(kind, ab, "tiny", ("a", "b"), 1, None, _side((" x", 0.6)), tuple(frame_rows))


def test_head_sweep_has_integer_head_ticks_and_names_the_swept_site():
    sw = _sweep()
    fig = head_sweep_figure(sw.frame(), "kl")
    assert fig.layout.xaxis.type == "category" and list(fig.data[0].x) == ["0", "1", "2", "3"]
    assert "mlp_out" not in sw.label() and "head" in sw.label()
    assert "mlp_out" not in sw.to_dict()["ablation"]
    layers = AblationSweep("layers", Ablation("attn_out", 1, "zero"), "tiny", ("a",), 0, None, _side((" x", 0.6)), ())
    assert "attn_out of each layer" in layers.label()


def test_seed_top_lists_each_corpus_token_once():
    rows = [{"sample": s, "token": " Queen", "token_id": 7, "activation": a, "index": i, "window_start": 0,
             "window_end": 10, "context": ""} for s, (a, i) in enumerate([(5.0, 40), (5.0, 40), (4.0, 41), (3.0, 40)])]
    df = pd.DataFrame(rows, columns=SAMPLE_COLUMNS)
    top = SeedResult(count_winners(df), df, {"bos_prepended": False}).top(10)
    assert list(top["index"]) == [40, 41] and list(top["activation"]) == [5.0, 4.0]


@pytest.fixture(scope="module")
def wide_result():
    """Embeddings ~0.01, a late layer with outliers of ~1,500: a shared grid squeezes the early layers."""
    rng = np.random.default_rng(0)
    acc = DistAccumulator(3, 16, bins=80, expected_tokens=200, scatter_points=50)
    acts = rng.standard_normal((3, 200, 16)) * np.array([0.01, 1.0, 10.0])[:, None, None]
    acts[2, 0, 0] = 1500.0
    acc.add(acts.astype(np.float32), np.zeros(200, int), np.arange(1, 201))
    return acc.result(model="tiny", site="resid", layers=[0, 1, 2], n_sequences=1, exclude_first=True, sample="s")


def test_histograms_are_informative_by_default(wide_result):
    fig = histogram_figure(wide_result)
    nonempty = np.count_nonzero(np.nan_to_num(np.asarray(fig.data[0].y, dtype=float)))
    assert nonempty >= 10  # the embeddings spread over many bars, not 1-2
    shared = histogram_figure(wide_result, shared=True)  # the shared range stays available as an explicit choice
    assert np.count_nonzero(np.nan_to_num(np.asarray(shared.data[0].y, dtype=float))) <= 2


def test_r2_title_fits_on_its_lines(wide_result):
    fig = matrix_figure(wide_result, "r2")
    lines = [line.replace("<sup>", "").replace("</sup>", "") for line in fig.layout.title.text.split("<br>")]
    assert all(len(line) <= 75 for line in lines), lines
    assert fig.layout.margin.t >= 80


def test_gutenberg_12_offline_falls_back_to_the_built_in_copy(tmp_path, monkeypatch):
    import urllib.request

    from interp_core.data.corpus import builtin, gutenberg

    monkeypatch.setenv("LOOKING_GLASS_CACHE", str(tmp_path))

    def offline(*a, **k):
        raise OSError("network is unreachable")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    c = gutenberg("12")
    assert c.text == builtin("looking-glass").text and c.name == "gutenberg:12" and "built-in copy" in c.source
    with pytest.raises(Exception, match="could not be downloaded"):
        gutenberg("11")
