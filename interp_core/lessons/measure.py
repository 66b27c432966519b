"""Read an expectation's value out of a view's result (its `.to_dict()`), then compare: the lesson's ✓ or
"the model disagrees today". Reads the same dictionaries that the CLI prints and the pages download."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .expect import Expectation, ExpectError, Outcome, _number


def _layer_index(labels: Sequence[Any], layer: str) -> int:
    names = [str(x) for x in labels]
    if layer not in names:
        raise ExpectError(f"there is no layer {layer} here (layers {names[0]}…{names[-1]})")
    return names.index(layer)


def _lens(e: Expectation, r: Mapping[str, Any]) -> tuple[Any, Any]:
    t = r["target"]
    if e.metric == "snap":
        ranks = [row[-1] for row in t["rank"]]
        snap = None
        for i in range(len(ranks) - 1, -1, -1):
            if ranks[i] != 1:
                break
            snap = r["layers"][i]
        return None, snap
    assert e.where is not None
    li = _layer_index(r["layers"], e.where[1])
    if e.metric == "top":
        return None, r["top"][li][-1][0]["token"]
    return None, {"p": t["prob"], "rank": t["rank"], "z": t["zscore"]}[e.metric][li][-1]


def _compare(e: Expectation, r: Mapping[str, Any]) -> tuple[Any, Any]:
    c, a = r["clean"], r["ablated"]
    if e.metric == "kl":
        return None, r["kl"]
    if e.metric == "repair":
        if "ratio" not in r:
            raise ExpectError("'repair' needs 'self_repair: true' in the view")
        return None, r["ratio"]
    if e.metric == "top":
        return c["top"][0]["token"], a["top"][0]["token"]
    if e.metric == "generation":
        return "".join(c["generation"]), "".join(a["generation"])
    key = {"p": "target_prob", "rank": "target_rank"}[e.metric]
    return c[key], a[key]


def _sweep(e: Expectation, r: Mapping[str, Any]) -> tuple[Any, Any]:
    recs = r["records"]
    if e.metric == "worst":
        best = min(recs, key=lambda x: x["target_prob_delta"] if x["target_prob_delta"] is not None else 0.0)
        return None, best["scale"] if r["sweep"] == "scale" else best["layer"]
    assert e.where is not None
    kind, at = e.where
    if kind == "layer":
        hits = [x for x in recs if str(x["layer"]) == at and x["head"] is None]
    else:
        hits = [x for x in recs if x["scale"] is not None and abs(x["scale"] - _number(at)) < 1e-9]
    if not hits:
        raise ExpectError(f"the sweep has no point at {kind} {at}")
    x = hits[0]
    return None, x["kl"] if e.metric == "kl" else x["ablated"]["target_prob"]


def _patching(e: Expectation, r: Mapping[str, Any]) -> tuple[Any, Any]:
    row = _layer_index(r["layer_labels"], e.args[0])
    col = int(_number(e.args[1]))
    if not 0 <= col < len(r["column_labels"]):
        raise ExpectError(f"there is no column {col} (0…{len(r['column_labels']) - 1})")
    return None, r["values"][row][col]


def _seed(e: Expectation, r: Mapping[str, Any]) -> tuple[Any, Any]:
    winners = r["winners"]
    if e.metric == "winner":
        return None, winners[0]["token"] if winners else None
    if e.metric == "top_share":
        return None, winners[0]["fraction"] if winners else 0.0
    return None, sum(w["fraction"] for w in winners if w["token"] == e.token)


def _dist(e: Expectation, r: Mapping[str, Any]) -> tuple[Any, Any]:
    labels = r["labels"]
    if e.metric == "r2":
        i, j = _layer_index(labels, e.args[0]), _layer_index(labels, e.args[1])
        return None, r["r2"][i][j]
    assert e.where is not None
    return None, r["stats"][_layer_index(labels, e.where[1])][e.metric]


_READERS = {"lens": _lens, "compare": _compare, "sweep": _sweep, "patching": _patching, "seed": _seed,
            "distributions": _dist}


def _meets(e: Expectation, v: Any) -> bool:
    if v is None:
        return False
    op, ops = e.op, e.operands
    if isinstance(v, str):
        return {"is": v == ops[0], "is not": v != ops[0], "starts with": v.startswith(ops[0])}[op]
    if op in ("is", "is not"):
        return (abs(float(v) - _number(ops[0])) < 1e-9) == (op == "is")
    if op in ("above", "rises above", "stays above"):
        return float(v) > _number(ops[0])
    if op in ("below", "drops below", "stays below"):
        return float(v) < _number(ops[0])
    return _number(ops[0]) <= float(v) <= _number(ops[1])  # between


def measure(e: Expectation, view: str, result: Mapping[str, Any]) -> Outcome:
    """The value(s) of `e` in `result` and whether they meet it (ExpectError when the result lacks them)."""
    before, value = _READERS[view](e, result)
    ok = _meets(e, value)
    if e.op in ("drops below", "rises above"):  # the before value must start on the other side
        ok = ok and before is not None and not _meets(e, before)
    elif e.op in ("stays above", "stays below"):
        ok = ok and _meets(e, before)
    return Outcome(e, value, before, ok)
