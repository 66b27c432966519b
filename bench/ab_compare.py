"""Compare `bench/run.py --json` results of two code versions (A = before, B = after), run alternately on one
machine (A B B A): for every timing and throughput line present in both, B's best against A's best, and the lines
where B is more than 5 % slower.

    python bench/ab_compare.py --a A1.json A2.json --b B1.json B2.json [--markdown]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

SKIP = ("process_s",)  # a child's whole process time (imports, model load) is not a measured line


def leaves(d, prefix: str = ""):
    """(path, value) for every number in a results tree; lists of numbers are skipped (samples, not lines)."""
    if isinstance(d, dict):
        for k, v in d.items():
            yield from leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(d, (int, float)) and not isinstance(d, bool):
        yield prefix, float(d)


def kind(path: str) -> str | None:
    last = path.rsplit(".", 1)[-1]
    if last in SKIP or path.startswith(("machine", "config", "derived")):
        return None
    if last.endswith("tok_s") or last.endswith("per_s"):
        return "rate"  # higher is better
    if last.endswith("_s") or last == "seconds" or "interactions_s" in path:
        return "time"  # lower is better
    return None


def compare(a_runs: list[dict], b_runs: list[dict], slower: float = 0.05) -> list[dict]:
    a_vals: dict[str, list[float]] = {}
    b_vals: dict[str, list[float]] = {}
    for runs, vals in ((a_runs, a_vals), (b_runs, b_vals)):
        for r in runs:
            for p, v in leaves(r):
                if kind(p):
                    vals.setdefault(p, []).append(v)
    rows = []
    for p in sorted(set(a_vals) & set(b_vals)):
        k = kind(p)
        a = min(a_vals[p]) if k == "time" else max(a_vals[p])
        b = min(b_vals[p]) if k == "time" else max(b_vals[p])
        if a <= 0 or b <= 0:
            continue
        b_over_a = (b / a) if k == "time" else (a / b)  # > 1: B slower
        rows.append({"line": p, "kind": k, "a": a, "b": b, "b_slower_by": b_over_a - 1,
                     "flag": b_over_a - 1 > slower})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", nargs="+", required=True)
    ap.add_argument("--b", nargs="+", required=True)
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args(argv)
    load = lambda fs: [json.loads(Path(f).read_text()) for f in fs]  # noqa: E731
    rows = compare(load(a.a), load(a.b))
    if a.markdown:
        print("| line | A (before) | B (after) | B slower by |\n| --- | ---: | ---: | ---: |")
        for r in rows:
            mark = " **>5 %**" if r["flag"] else ""
            print(f"| `{r['line']}` | {r['a']:.4g} | {r['b']:.4g} | {100 * r['b_slower_by']:+.1f} %{mark} |")
    else:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
