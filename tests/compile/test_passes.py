"""Each graph pass on its own: input graph -> expected graph."""

from rulesengine.compile import compile_program
from rulesengine.compile.graph import Clause, Graph, Node, render_graph
from rulesengine.compile.passes import (
    fold_constants,
    order_clauses,
    prune,
    share_common_subexpressions,
)
from tests.conftest import RULES, checked


def graph(nodes, filters=None, values=None):
    return Graph(tuple(nodes), filters or {}, values or {})


def test_fold_constants_folds_arithmetic_and_comparisons():
    g = graph(
        [
            Node("const", (), 2.0),
            Node("const", (), 3.0),
            Node("mul", (0, 1)),
            Node("field", (), (None, "bid")),
            Node("gt", (3, 2)),
        ],
        values={"v": 4},
    )
    folded = fold_constants(g)
    assert folded.nodes[2] == Node("const", (), 6.0)
    assert folded.nodes[4].op == "gt"  # depends on a column: untouched
    assert fold_constants(
        graph([Node("const", (), 1.0), Node("neg", (0,)), Node("lt", (1, 0))])
    ).nodes[2] == Node("const", (), True)


def test_cse_shares_identical_and_commutative_nodes():
    g = graph(
        [
            Node("field", (), (None, "bid")),
            Node("field", (), (None, "ask")),
            Node("add", (0, 1)),
            Node("field", (), (None, "ask")),
            Node("field", (), (None, "bid")),
            Node("add", (3, 4)),
        ],
        values={"a": 2, "b": 5},
    )
    shared = share_common_subexpressions(g)
    assert len(shared.nodes) == 3
    assert shared.values["a"] == shared.values["b"]


def test_order_puts_cheap_selective_clauses_first():
    cheap = Clause(2, "dte == 30", "x")
    costly = Clause(5, "pop >= 65%", "x")
    g = graph(
        [
            Node("field", (), (None, "dte")),
            Node("const", (), 30.0),
            Node("eq", (0, 1)),
            Node("field", (), (None, "pop")),
            Node("const", (), 0.65),
            Node("ge", (3, 4)),
        ],
        filters={"entry": (costly, cheap)},
    )
    assert [c.label for c in order_clauses(g).filters["entry"]] == ["dte == 30", "pop >= 65%"]


def test_prune_drops_unreachable_nodes_and_renumbers():
    g = graph(
        [
            Node("const", (), 1.0),
            Node("field", (), (None, "bid")),
            Node("gt", (1, 0)),
            Node("field", (), (None, "ask")),
        ],
        values={"v": 2},
    )
    pruned = prune(g)
    assert len(pruned.nodes) == 3 and pruned.values["v"] == 2
    assert all(n.value != (None, "ask") for n in pruned.nodes)


def test_one_graph_shares_let_across_legs_and_entries():
    text = (RULES / "bull_put_spread.yaml").read_text()
    g = compile_program(checked(text).program)
    bids = [i for i, n in enumerate(g.nodes) if n.value == (None, "bid")]
    assert len(bids) == 1  # `bid` read once, shared by `liquid`, `spread_pct` and the long leg
    assert "filter leg:short" in render_graph(g)
    labels = [c.label for c in g.filters["leg:short"]]
    assert "liquid: open_interest > 100" in labels  # let conjunctions become separate clauses
