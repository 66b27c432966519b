"""The home page's parameter chart: stacked bars by part, positions as categories in model order."""
import pandas as pd

from interp_core.plots.model import parameters_figure


def test_stacked_bars_in_model_order_and_empty_parts_dropped():
    df = pd.DataFrame([("embed", -1, "embedding", 4_000_000), ("0", 0, "attention", 1_000_000), ("0", 0, "MLP", 2_000_000),
                       ("0", 0, "norms", 100), ("1", 1, "attention", 1_000_000), ("1", 1, "MLP", 2_000_000),
                       ("1", 1, "norms", 100), ("head", 2, "norms", 50), ("head", 2, "unembedding", 0)],
                      columns=["position", "layer", "part", "params"])
    fig = parameters_figure(df)
    assert fig.layout.barmode == "stack" and fig.layout.xaxis.type == "category"
    assert [t.name for t in fig.data] == ["embedding", "attention", "MLP", "norms"]  # the tied unembedding: none
    mlp = next(t for t in fig.data if t.name == "MLP")
    assert list(mlp.x) == ["embed", "0", "1", "head"] and list(mlp.y) == [0.0, 2.0, 2.0, 0.0]
    assert "10.0 M" in fig.layout.title.text
