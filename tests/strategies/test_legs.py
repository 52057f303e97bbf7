"""Leg joins: the searchsorted join equals a brute-force pairing; prefer keeps the best k."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rulesengine.check.program import Leg
from rulesengine.compile import compile_program
from rulesengine.data.chain import COLUMNS, Chain
from rulesengine.strategies.legs import keep_best, select
from tests.conftest import checked

STOP = "exit:\n  s: pnl <= -$100\n"


def synthetic_chain(strikes, expiries, types, symbols):
    n = len(strikes)
    cols = {
        name: np.zeros(n, dtype=dtype if dtype != "U" else "U8") for name, dtype in COLUMNS.items()
    }
    cols.update(
        strike=np.asarray(strikes, float),
        expiry=np.asarray(expiries, float) * 86400,
        type=np.asarray(types, "i1"),
        underlying_symbol=np.asarray(symbols, "U8"),
        bid=np.ones(n),
        ask=np.full(n, 1.2),
        underlying_price=np.full(n, 100.0),
        delta=np.linspace(-0.5, 0.5, n) if n else np.zeros(0),
        multiplier=np.full(n, 100.0),
        symbol=np.array([f"S{i}" for i in range(n)], "U8"),
    )
    return Chain(cols)


def selection_pairs(text, chain):
    program = checked(text).program
    assert program is not None
    g = compile_program(program)
    sel = select(g, program.legs, chain, np.arange(len(chain)), {}, [])
    return set(zip(*(sel.rows[leg.name].tolist() for leg in program.legs), strict=True))


rows = st.lists(
    st.tuples(
        st.integers(90, 110), st.integers(0, 3), st.integers(0, 1), st.sampled_from(["A", "B"])
    ),
    min_size=0,
    max_size=40,
)


JOINS = {
    "equality": (
        "expiry == short.expiry and strike == short.strike - 5",
        lambda a, b: b[0] == a[0] - 5,
    ),
    "range": (
        "expiry == short.expiry and strike < short.strike and strike >= short.strike - 10",
        lambda a, b: a[0] - 10 <= b[0] < a[0],
    ),
    "written the other way round": (
        "short.expiry == expiry and short.strike > strike and short.strike - 10 <= strike",
        lambda a, b: a[0] - 10 <= b[0] < a[0],
    ),
}


@pytest.mark.parametrize("kind", sorted(JOINS))
@settings(max_examples=80, deadline=None)
@given(data=rows)
def test_join_matches_brute_force(kind, data):
    condition, strikes_match = JOINS[kind]
    chain = synthetic_chain(*zip(*data, strict=True)) if data else synthetic_chain([], [], [], [])
    text = f"strategy: t\nlegs:\n  short: put\n  long: put where {condition}\n" + STOP
    expected = {
        (i, j)
        for i, a in enumerate(data)
        for j, b in enumerate(data)
        # both puts, same expiry, same underlying, and the strikes as the join says
        if a[2] == b[2] == 0 and a[1] == b[1] and a[3] == b[3] and strikes_match(a, b)
    }
    assert selection_pairs(text, chain) == expected


def test_calendar_joins_on_strike_with_later_expiry():
    data = [(100, 1, 1, "A"), (100, 2, 1, "A"), (100, 3, 1, "A"), (105, 2, 1, "A")]
    chain = synthetic_chain(*zip(*data, strict=True))
    text = (
        "strategy: t\nlegs:\n  short: call where expiry <= 1970-01-03\n"
        "  long: call where strike == short.strike and expiry > short.expiry\n" + STOP
    )
    assert selection_pairs(text, chain) == {(0, 1), (0, 2), (1, 2)}


def test_a_contract_is_never_used_twice_in_one_structure():
    chain = synthetic_chain([100, 100], [1, 1], [0, 0], ["A", "A"])
    text = (
        "strategy: t\nlegs:\n  short: put\n"
        "  long: put where strike == short.strike and expiry == short.expiry\n" + STOP
    )
    assert selection_pairs(text, chain) == {(0, 1), (1, 0)}


@given(st.lists(st.tuples(st.floats(-5, 5), st.integers(0, 3)), max_size=50), st.integers(1, 3))
def test_keep_best_keeps_the_k_lowest_per_group(items, k):
    score = np.array([s for s, _ in items], float)
    groups = np.array([g for _, g in items], int)
    kept = set(keep_best(score, groups, k).tolist())
    for g in set(groups.tolist()):
        members = sorted((s, i) for i, (s, gg) in enumerate(items) if gg == g)
        assert {i for _, i in members[:k]} == {i for i in kept if groups[i] == g}


def test_legs_are_declared_in_order():
    program = checked(
        "strategy: t\nlegs:\n  short: put\n  long: put where expiry == short.expiry\n" + STOP
    ).program
    assert [type(leg) for leg in program.legs] == [Leg, Leg]
    assert program.legs[1].depends_on == ("short",)


def test_join_keys_stay_correct_when_re_densified(monkeypatch):
    import rulesengine.strategies.legs as legs

    data = [(k, e, 0, u) for k in (90, 95, 100) for e in (1, 2) for u in ("A", "B")]
    chain = synthetic_chain(*zip(*data, strict=True))
    condition = JOINS["equality"][0]
    text = f"strategy: t\nlegs:\n  short: put\n  long: put where {condition}\n" + STOP
    expected = selection_pairs(text, chain)
    monkeypatch.setattr(legs, "_DENSE_ABOVE", 1)  # re-densify after every key column
    assert selection_pairs(text, chain) == expected
    assert len(expected) == 8  # 2 strike pairs x 2 expiries x 2 underlyings
