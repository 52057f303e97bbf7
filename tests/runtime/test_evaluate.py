"""The runtime: filters equal plain numpy, the funnel counts survivors, NaN never passes."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rulesengine.compile.graph import Clause, Graph, Node
from rulesengine.runtime.evaluate import run_filter
from rulesengine.runtime.view import View
from tests.strategies.test_legs import synthetic_chain


def filter_graph(bounds):
    nodes, clauses = [], []
    for column, low in bounds:
        nodes += [Node("field", (), (None, column)), Node("const", (), low)]
        nodes.append(Node("gt", (len(nodes) - 2, len(nodes) - 1)))
        clauses.append(Clause(len(nodes) - 1, f"{column} > {low}", "t"))
    return Graph(tuple(nodes), {"f": tuple(clauses)}, {})


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.floats(0, 200), st.just(float("nan"))), min_size=1, max_size=300),
    st.floats(0, 200),
    st.floats(0, 200),
)
def test_filter_matches_numpy_and_funnel_counts(strikes, a, b):
    n = len(strikes)
    chain = synthetic_chain(strikes, [1] * n, [0] * n, ["A"] * n)
    chain.columns["bid"] = np.asarray(strikes)[::-1].copy()
    graph = filter_graph([("strike", a), ("bid", b)])
    funnel = []
    rows, _ = run_filter(graph, graph.filters["f"], View.whole_chain(chain), "f", funnel)
    with np.errstate(invalid="ignore"):
        expected = np.flatnonzero((chain.columns["strike"] > a) & (chain.columns["bid"] > b))
    assert rows.tolist() == expected.tolist()
    assert funnel[0].rows_in == n
    assert funnel[-1].rows_out == len(expected)
    assert all(f.rows_out <= f.rows_in for f in funnel)


def test_nan_quotes_never_pass():
    chain = synthetic_chain([100.0, np.nan], [1, 1], [0, 0], ["A", "A"])
    graph = filter_graph([("strike", 0.0)])
    rows, _ = run_filter(graph, graph.filters["f"], View.whole_chain(chain), "f", [])
    assert rows.tolist() == [0]


def test_fields_a_chain_lacks_read_as_nan_and_are_reported():
    chain = synthetic_chain([100.0], [1], [0], ["A"])
    view = View.whole_chain(chain)
    assert np.isnan(view.field(None, "iv_rank")).all()
    assert view.missing == {"this data has no `iv_rank`"}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 200), min_size=1, max_size=200),
    st.floats(1, 200),
    st.floats(1, 200),
)
def test_near_misses_are_the_rejected_rows_within_ten_percent(strikes, a, b):
    """The second clause's near misses: rows alive after the first, rejected by `bid > b`,
    with a bid within 10% of b (brute force)."""
    n = len(strikes)
    chain = synthetic_chain(strikes, [1] * n, [0] * n, ["A"] * n)
    bids = np.asarray(strikes)[::-1].copy()
    chain.columns["bid"] = bids
    graph = filter_graph([("strike", a), ("bid", b)])
    funnel = []
    run_filter(graph, graph.filters["f"], View.whole_chain(chain), "f", funnel)
    strikes_ = np.asarray(strikes)
    first = np.abs(strikes_ - a) <= 0.1 * a
    assert funnel[0].near == int(np.count_nonzero((strikes_ <= a) & first))
    if len(funnel) > 1:
        alive = strikes_ > a
        close = np.abs(bids - b) <= 0.1 * b
        assert funnel[1].near == int(np.count_nonzero(alive & (bids <= b) & close))


def test_a_zero_threshold_has_no_near_misses():
    chain = synthetic_chain([100.0, 0.0], [1, 1], [0, 0], ["A", "A"])
    graph = filter_graph([("strike", 0.0)])
    funnel = []
    run_filter(graph, graph.filters["f"], View.whole_chain(chain), "f", funnel)
    assert funnel[0].rows_out == 1 and funnel[0].near == 0  # strike 0 is not "near" 0
