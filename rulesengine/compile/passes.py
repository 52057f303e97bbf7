"""Graph passes, each a pure function Graph -> Graph, run in PIPELINE order by compile()."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rulesengine.compile.graph import Clause, Graph, Node
from rulesengine.compile.ops import apply, spec


def fold_constants(graph: Graph) -> Graph:
    """Replace operations whose arguments are all constants by their value."""
    nodes = list(graph.nodes)
    for i, node in enumerate(nodes):  # nodes are in topological order: arguments come first
        if spec(node.op).foldable and node.args and all(nodes[a].op == "const" for a in node.args):
            values = [nodes[a].value for a in node.args]
            numbers = [v for v in values if isinstance(v, int | float | bool)]
            if len(numbers) == len(values):
                with np.errstate(all="ignore"):
                    result = apply(node.op, [np.asarray(v) for v in numbers])
                nodes[i] = Node("const", (), _python(result))
    return replace(graph, nodes=tuple(nodes))


def _python(value: np.ndarray) -> float | bool:
    item = np.asarray(value).item()
    return bool(item) if isinstance(item, bool | np.bool_) else float(item)


def share_common_subexpressions(graph: Graph) -> Graph:
    """Give identical computations one node, across every rule of the file."""
    seen: dict[tuple, int] = {}
    remap: dict[int, int] = {}
    nodes: list[Node] = []
    for i, node in enumerate(graph.nodes):
        args = tuple(remap[a] for a in node.args)
        if spec(node.op).commutative:
            args = tuple(sorted(args))  # commutative: a + b and b + a are one node
        key = (node.op, args, _hashable(node.value))
        if key not in seen:
            seen[key] = len(nodes)
            nodes.append(Node(node.op, args, node.value))
        remap[i] = seen[key]
    return _remapped(graph, tuple(nodes), remap)


def _hashable(value: object) -> object:
    return (type(value).__name__, value) if not isinstance(value, list) else tuple(value)


# Cost of a structure field per row, in numpy passes over a column (model fields solve IV).
_STRUCTURE_FIELD_COST = {
    **dict.fromkeys(("model_iv", "model_delta", "model_gamma", "model_theta", "model_vega"), 40.0),
    "pop": 30.0,
    "max_profit": 15.0,
    "max_loss": 15.0,
    "lower_breakeven": 15.0,
    "upper_breakeven": 15.0,
}


def clause_cost(graph: Graph, node_id: int) -> float:
    """Estimated cost of a clause: each distinct node it needs, counted once."""
    total = 0.0
    for current in graph.reachable(node_id):
        node = graph.nodes[current]
        if node.op == "field":
            leg, name = node.field_ref
            total += _STRUCTURE_FIELD_COST.get(name, 2.0 if leg else 1.0)
        else:
            total += spec(node.op).cost
    return total


def order_clauses(graph: Graph) -> Graph:
    """Put cheap, selective clauses first so costly columns are computed only on survivors."""

    def rank(clause: Clause) -> float:
        keep = spec(graph.nodes[clause.node].op).keeps
        return clause_cost(graph, clause.node) / (1.0 - keep)

    filters = {name: tuple(sorted(clauses, key=rank)) for name, clauses in graph.filters.items()}
    return replace(graph, filters=filters)


def prune(graph: Graph) -> Graph:
    """Drop nodes no root reaches and renumber the rest in topological order."""
    live = graph.reachable(*graph.roots())
    remap: dict[int, int] = {}
    nodes: list[Node] = []
    for i, node in enumerate(graph.nodes):
        if i in live:
            remap[i] = len(nodes)
            nodes.append(Node(node.op, tuple(remap[a] for a in node.args), node.value))
    return _remapped(graph, tuple(nodes), remap)


def _remapped(graph: Graph, nodes: tuple[Node, ...], remap: dict[int, int]) -> Graph:
    filters = {
        name: tuple(Clause(remap[c.node], c.label, c.origin) for c in clauses)
        for name, clauses in graph.filters.items()
    }
    values = {name: remap[i] for name, i in graph.values.items()}
    return Graph(nodes, filters, values)


PIPELINE = (fold_constants, share_common_subexpressions, order_clauses, prune)


def optimise(graph: Graph) -> Graph:
    for compile_pass in PIPELINE:
        graph = compile_pass(graph)
    return graph
