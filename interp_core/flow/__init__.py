"""Information flow routes: how much each attention head (per source token) and each MLP moved into every
residual state, and the pruned graph that leads to one token (Ferrando & Voita, 2024)."""
from interp_core.flow.graph import (
                                    DEFAULT_THRESHOLD,
                                    EDGE_COLUMNS,
                                    EDGE_KINDS,
                                    FlowEdge,
                                    FlowGraph,
                                    FlowNode,
                                    check_threshold,
                                    flow_graph,
                                    node_id,
)
from interp_core.flow.inspect import TOKEN_COLUMNS, TokenLists, head_tokens, node_tokens
from interp_core.flow.results import (
                                    CONTRIBUTION_COLUMNS,
                                    NEURON_COLUMNS,
                                    FlowContributions,
                                    NeuronContributions,
)
from interp_core.flow.run import information_flow, neuron_contributions
from interp_core.flow.shares import proximity, shares, threshold_renormalise

__all__ = ["CONTRIBUTION_COLUMNS", "DEFAULT_THRESHOLD", "EDGE_COLUMNS", "EDGE_KINDS", "NEURON_COLUMNS", "TOKEN_COLUMNS",
           "TokenLists", "head_tokens", "node_tokens",
           "FlowContributions", "FlowEdge", "FlowGraph", "FlowNode", "NeuronContributions", "check_threshold",
           "flow_graph", "information_flow", "neuron_contributions", "node_id", "proximity", "shares",
           "threshold_renormalise"]
