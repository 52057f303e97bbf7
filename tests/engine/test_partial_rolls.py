"""Issue 16: a roll that moves some legs (a condor's untested side) to a target taken from
the position, as one combo order with lineage, and books that still reconcile."""

from __future__ import annotations

import json

import pytest

from rulesengine.check.checker import check_text

pytestmark = pytest.mark.anyio

CONDOR = """
strategy: condor
universe: [SPX]
legs:
  short_put: put where dte between 30 and 60 and delta between -0.20 and -0.12 and bid > 0
             prefer delta nearest -0.16
  long_put: put where expiry == short_put.expiry and strike == short_put.strike - 25 and bid > 0
  short_call: call where expiry == short_put.expiry and delta between 0.12 and 0.20 and bid > 0
              prefer delta nearest 0.16
  long_call: call where expiry == short_call.expiry and strike == short_call.strike + 25
             and bid > 0
size:
  contracts: 1
limits:
  max_positions: 1
exit:
  stop_loss: pnl <= -10 * max_profit
roll:
  when: rolls == 0 and days_held >= 1
  legs: [short_put, long_put]
  to: delta nearest -2 * short_call.delta
  expiry: same
"""


async def test_the_put_side_moves_and_the_calls_stay(harness):
    h = harness({"condor.yaml": CONDOR})
    await h.day(0)
    (parent,) = h.positions("open")
    calls = {leg.name: leg.symbol for leg in parent.legs if leg.kind == "call"}
    puts = {leg.name: leg for leg in parent.legs if leg.kind == "put"}
    await h.day(1)
    (child,) = h.positions("open")
    assert child.parent_id == parent.id and child.roll_number == 1
    legs = {leg.name: leg for leg in child.legs}
    assert {n: legs[n].symbol for n in calls} == calls  # not traded
    assert legs["short_put"].symbol != puts["short_put"].symbol
    assert legs["short_put"].expiry == puts["short_put"].expiry  # expiry: same
    assert legs["short_put"].strike - legs["long_put"].strike == 25  # the width is kept
    (order,) = [o for o in h.journal.orders() if o.purpose == "roll"]
    assert order.status == "filled" and order.legs.count("SPX") == 4  # 2 closed + 2 opened
    assert all(puts[n].symbol.strip() in order.legs for n in puts)
    assert not any(symbol.strip() in order.legs for symbol in calls.values())
    held = {p.symbol: p.quantity for p in await h.broker.positions()}
    assert held == {leg.symbol: leg.ratio for leg in child.legs}
    (roll,) = h.decisions("roll")
    assert "moves short_put, long_put" in roll["reason"]


async def test_the_books_reconcile_across_the_partial_roll(harness):
    h = harness({"condor.yaml": CONDOR})
    for day in range(3):
        await h.day(day)
    closed = h.positions("closed")
    assert closed and all(p.realised_pnl is not None for p in closed)
    for row in h.journal.snapshots():
        detail = json.loads(row["detail"])
        parts = 100_000 + detail["realised_pnl"] + detail["unrealised_pnl"]
        assert row["net_liq"] == pytest.approx(parts, abs=0.01)
    account = await h.broker.account()
    (child,) = h.positions("open")
    realised = sum(p.realised_pnl for p in closed)
    unrealised = float(child.detail["pnl"]) - child.fees
    assert float(account.net_liquidation) == pytest.approx(
        100_000 + realised + unrealised, abs=0.01
    )


@pytest.mark.parametrize(
    ("change", "code", "says"),
    [
        ("legs: [short_put, long_put]", None, None),
        ("legs: [short_pt, long_put]", "E106", "no leg named 'short_pt'"),
        ("legs: [long_put]", "E011", "needs a sold option leg"),
        ("to: delta nearest -2 * short_call.delta", None, None),
        ("to: delta * 2 nearest 0.1", "E201", "one contract field"),
        ("to: delta nearest pnl", "E201", "`nearest` compares"),
    ],
)
def test_roll_lint(change, code, says):
    key = change.split(":")[0]
    original = next(line for line in CONDOR.splitlines() if line.startswith(f"  {key}:"))
    result = check_text(CONDOR.replace(original.strip(), change))
    if code is None:
        assert not result.errors
    else:
        assert any(d.code == code and says in d.message for d in result.errors), result.errors


async def test_a_single_leg_roll_to_a_later_expiry_keeps_lineage(harness):
    single = CONDOR.replace("legs: [short_put, long_put]", "legs: [short_call]").replace(
        "to: delta nearest -2 * short_call.delta\n  expiry: same",
        "to: delta nearest 0.10\n  expiry: later",
    )
    h = harness({"condor.yaml": single})
    await h.day(0)
    (parent,) = h.positions("open")
    await h.day(1)
    (child,) = h.positions("open")
    before = {leg.name: leg for leg in parent.legs}
    after = {leg.name: leg for leg in child.legs}
    assert child.parent_id == parent.id and child.root_id == parent.id
    assert {n for n in after if after[n].symbol != before[n].symbol} == {"short_call"}
    assert after["short_call"].expiry > before["short_call"].expiry  # expiry: later
    (order,) = [o for o in h.journal.orders() if o.purpose == "roll"]
    assert order.legs.count("SPX") == 2 and order.status == "filled"


async def test_the_untested_side_moves_toward_the_tested_sides_delta(harness):
    untested = CONDOR.replace("legs: [short_put, long_put]", "legs: [untested]").replace(
        "to: delta nearest -2 * short_call.delta", "to: delta nearest -1 * tested.delta"
    )
    h = harness({"condor.yaml": untested})
    await h.day(0)
    (parent,) = h.positions("open")
    snapshot = h.snapshot(1)
    deltas = dict(zip(snapshot.column("symbol"), snapshot.column("delta"), strict=True))
    sold = {leg.kind: leg for leg in parent.legs if leg.ratio < 0}
    tested = max(sold.values(), key=lambda leg: abs(deltas[leg.symbol]))
    away = "put" if tested.kind == "call" else "call"
    await h.day(1)
    (child,) = h.positions("open")
    changed = {
        new.kind
        for old, new in zip(parent.legs, child.legs, strict=True)
        if old.symbol != new.symbol
    }
    assert changed == {away}  # only the untested side moved
    new_short = next(leg for leg in child.legs if leg.kind == away and leg.ratio < 0)
    assert deltas[new_short.symbol] == pytest.approx(-deltas[tested.symbol], abs=0.05)


def test_untested_needs_two_sides():
    one_sided = CONDOR.replace("legs: [short_put, long_put]", "legs: [untested]")
    one_sided = "\n".join(line for line in one_sided.splitlines() if "call" not in line)
    one_sided = one_sided.replace(
        "to: delta nearest -2 * short_call.delta", "to: delta nearest -0.1"
    )
    result = check_text(one_sided)
    assert any("`untested` needs a sold put and a sold call" in d.message for d in result.errors)


async def test_without_to_the_moved_sold_leg_uses_its_own_prefer(harness):
    """`short_put`'s own `prefer delta nearest -0.16` (a negative target) chooses."""
    own = CONDOR.replace("  to: delta nearest -2 * short_call.delta\n", "").replace(
        "expiry: same", "expiry: later"
    )
    h = harness({"condor.yaml": own})
    await h.day(0)
    (parent,) = h.positions("open")
    await h.day(1)
    (child,) = h.positions("open")
    assert child.parent_id == parent.id
    new_put = next(leg for leg in child.legs if leg.name == "short_put")
    assert new_put.expiry > parent.legs[0].expiry
    snapshot = h.snapshot(1)
    deltas = dict(zip(snapshot.column("symbol"), snapshot.column("delta"), strict=True))
    assert deltas[new_put.symbol] == pytest.approx(-0.16, abs=0.04)
