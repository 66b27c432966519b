"""`flow`: the information flow graph to one token, with the dense contributions it was cut from."""
from __future__ import annotations

from interp_core.cli.main import add_model_args, load_from_args
from interp_core.errors import UserError


def add_arguments(p):
    add_model_args(p)
    p.add_argument("--prompt", required=True, help="text whose routes to draw")
    p.add_argument("--token", type=int, default=-1,
                   help="the position the graph is built back from (negative counts from the end; default -1)")
    p.add_argument("--threshold", type=float, default=0.04, help="keep edges whose share exceeds this (default 0.04)")
    p.add_argument("--neurons", default=None, metavar="LAYER:POS",
                   help="also split that MLP's update per neuron at that position (e.g. 5:-1)")


def _neuron_target(text: str) -> tuple[int, int]:
    layer, _, pos = text.partition(":")
    try:
        return int(layer), int(pos)
    except ValueError:
        raise UserError(f"--neurons takes LAYER:POS, two integers such as 5:-1 (got '{text}').") from None


def run(args) -> dict:
    from interp_core.flow import (
        check_threshold,
        flow_graph,
        information_flow,
        neuron_contributions,
    )

    check_threshold(args.threshold)
    target = _neuron_target(args.neurons) if args.neurons else None
    lm = load_from_args(args)
    graph = flow_graph(information_flow(lm, args.prompt), args.token, args.threshold)
    out = graph.to_dict()
    if target is not None:
        out["neurons"] = neuron_contributions(lm, args.prompt, *target).to_dict()
    return out


def to_text(result: dict) -> str:
    toks = result["contributions"]["tokens"]
    lines = [(f"information flow to position {result['token']} ({result['token_text']!r}), threshold "
             f"{result['threshold']}: {len(result['nodes'])} nodes, {len(result['edges'])} edges"),
             result["contributions"]["frozen"]]
    for e in result["edges"]:
        if e["kind"] == "attn":
            lines.append(f"  L{e['layer']:>2} attn {toks[e['source']]!r} -> {toks[e['destination']]!r}  "
                         f"{e['share']:.3f} (top head {e['top_head']})")
        elif e["kind"] == "mlp":
            lines.append(f"  L{e['layer']:>2} mlp  at {toks[e['destination']]!r}  {e['share']:.3f}")
    if "neurons" in result:
        n = result["neurons"]
        top = ", ".join(f"#{r['neuron']} {r['share']:.4f}" for r in n["top"][:10])
        lines.append(f"neurons of MLP {n['layer']} at {n['token']!r} (residual {n['residual']:.3f}): {top}")
    return "\n".join(lines)
