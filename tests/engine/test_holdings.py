"""Assignment into strategy-owned holdings: deliveries, netting, the holdings names, checks."""

from __future__ import annotations

import math
import shutil
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rulesengine.data.chain import to_seconds
from rulesengine.engine.account import at_risk, exposure, free_shares
from rulesengine.engine.book import PositionBook
from rulesengine.engine.holdings import (
    Delivery,
    deliver,
    deliveries,
    holding_fields,
    holding_scalars,
    short_call_shares,
    take_cover,
)
from rulesengine.engine.journal import Journal
from rulesengine.engine.positions import Position, PositionLeg, Status
from rulesengine.engine.ruleset import RulesError, load_rules
from rulesengine.runtime.view import PerUnderlying
from rulesengine.scenarios.model import load_scenarios
from rulesengine.scenarios.render import render
from rulesengine.scenarios.runner import run_scenario

NOW = datetime(2016, 2, 16, 15, 45)


def option(id_: str, strategy: str, kind: str, strike: float, ratio: int = -1, qty: int = 1):
    leg = PositionLeg("short", f"XYZ   160212{kind[0].upper()}{int(strike * 1000):08d}", ratio,
                      kind, strike, "2016-02-12")  # fmt: skip
    return Position(
        id=id_, strategy=strategy, version="v", underlying="XYZ", legs=[leg],
        opened_at=datetime(2016, 1, 4), entry_key=id_, quantity=qty, ordered=qty,
        entry_price=2.0, status=Status.CLOSED,
    )  # fmt: skip


def test_an_assigned_put_opens_a_holding_at_the_settlement_price_with_its_strike_as_cost():
    put = option("p-put", "wheel_put", "put", 95.0)
    (delivery,) = deliveries(put, lambda symbol, day: 88.50)
    assert delivery == Delivery("XYZ", 100, 95.0, 88.50, True, "put")
    book: dict[str, Position] = {}
    (held,) = deliver(book, put, delivery, ["wheel_put"], NOW)
    assert held.is_holding and held.strategy == "wheel_put" and held.status is Status.OPEN
    assert held.holdings() == {"XYZ": 100} and held.entry_price == -88.50
    assert held.detail["avg_cost"] == 95.0 and held.detail["assigned_at"] == "2016-02-16"
    assert held.parent_id == "p-put" and held.root_id == "p-put"
    # the option closed at intrinsic (2.00 - 6.50) x 100 = -450; with the shares at 88.50 the
    # strategy is down 450 - (price - 88.50) x 100: the same as the broker's cash and shares
    # (+200 premium, -9,500 for the shares, the shares worth price x 100)
    price = 90.0
    engine = (2.0 - 6.5) * 100 + (price + held.entry_price) * 100
    broker = 200 - 9_500 + price * 100
    assert engine == pytest.approx(broker)


def assigned(book: dict[str, Position]) -> Position:
    """wheel_put's 95 put assigned: +100 XYZ at 88.50 settlement, now in `book`."""
    put = option("p-put", "wheel_put", "put", 95.0)
    (held,) = deliver(book, put, Delivery("XYZ", 100, 95.0, 88.50, True, "put"), ["wheel_put"], NOW)
    book[held.id] = held
    return held


def test_a_covered_call_assigned_calls_the_put_steps_shares_away():
    book: dict[str, Position] = {}
    held = assigned(book)
    call = option("p-call", "wheel_call", "call", 97.5)
    (delivery,) = deliveries(call, lambda symbol, day: 104.82)
    assert delivery.shares == -100
    later = datetime(2016, 4, 4, 15, 45)
    (changed,) = deliver(book, call, delivery, ["wheel_call", "wheel_put"], later)
    assert changed is held and held.status is Status.CLOSED
    assert held.realised_pnl == pytest.approx((104.82 - 88.50) * 100)  # 1,632.00 to the cent
    assert held.exit_reason == "called away at 97.5" and held.closed_at == later


def test_a_strategy_outside_the_group_never_touches_the_shares():
    book: dict[str, Position] = {}
    held = assigned(book)
    call = option("p-naked", "other", "call", 97.5)
    away = Delivery("XYZ", -100, 97.5, 104.82, True, "call")
    (short,) = deliver(book, call, away, ["other"], NOW)
    assert held.status is Status.OPEN  # not other's to deliver
    assert short.strategy == "other" and short.holdings() == {"XYZ": -100}
    assert short.entry_price == 104.82  # sold short at the settlement price


def test_part_of_a_holding_goes_when_fewer_calls_are_assigned():
    put = option("p-put", "wheel_put", "put", 95.0, qty=3)
    book: dict[str, Position] = {}
    (held,) = deliver(book, put, Delivery("XYZ", 300, 95.0, 90.0, True, "put"), ["wheel_put"], NOW)
    book[held.id] = held
    call = option("p-call", "wheel_put", "call", 100.0)
    deliver(book, call, Delivery("XYZ", -100, 100.0, 101.0, True, "call"), ["wheel_put"], NOW)
    assert held.status is Status.OPEN and held.quantity == 2
    assert held.detail["realised_part"] == pytest.approx(1_100.0)  # (101 - 90) x 100


def test_index_options_and_worthless_ones_deliver_nothing():
    put = option("p-put", "wheel_put", "put", 95.0)
    assert deliveries(put, lambda symbol, day: 95.0) == []  # at the money: expires
    assert deliveries(put, lambda symbol, day: None) == []  # no settlement price yet
    index = Position(**{**put.__dict__, "underlying": "SPX"})
    assert deliveries(index, lambda symbol, day: 80.0) == []  # cash-settled


def test_the_holdings_names_count_the_group_and_the_calls_sold_against_it():
    book: dict[str, Position] = {}
    first = option("p-1", "wheel_put", "put", 95.0, qty=2)
    second = option("p-2", "wheel_put", "put", 90.0)
    for p, spot, day in ((first, 88.0, NOW), (second, 85.0, datetime(2016, 3, 1, 15, 45))):
        shares = 100 * p.quantity
        for h in deliver(book, p, Delivery("XYZ", shares, p.legs[0].strike, spot, True, "put"),
                         ["wheel_put"], day):  # fmt: skip
            book[h.id] = h
    call = option("p-call", "wheel_call", "call", 100.0)
    call.status = Status.OPENING  # an entry still working covers too
    book[call.id] = call
    found = holding_fields(book.values(), ["wheel_call", "wheel_put"])
    assert found.shares == {"XYZ": 300.0}
    assert found.uncovered == {"XYZ": 200.0}
    assert found.avg_cost["XYZ"] == pytest.approx((2 * 95 + 90) / 3)
    assert found.assigned_at == {"XYZ": to_seconds(date(2016, 2, 16))}
    assert holding_fields(book.values(), ["wheel_call"]).shares == {}  # not its own group
    scalars = holding_scalars(book.values(), ["wheel_put"])
    column = scalars["shares_held"].column(np.array(["XYZ", "ABC", "XYZ"]))  # type: ignore[attr-defined]
    assert column.tolist() == [300.0, 0.0, 300.0]
    assert math.isnan(scalars["avg_cost"])  # as a plain float: an underlying with none


def test_a_per_underlying_scalar_is_a_float_with_a_column_per_symbol():
    value = PerUnderlying({"AAA": 1.5}, 0.0)
    assert float(value) == 0.0 and value + 1 == 1.0
    assert value.column(np.array(["BBB", "AAA"])).tolist() == [0.0, 1.5]
    assert PerUnderlying({}, 7.0).column(np.array(["X", "Y"])).tolist() == [7.0, 7.0]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-3, 3).filter(bool),  # lots delivered (+ in, - out)
            st.integers(5_000, 15_000),  # settlement price in cents
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(5_000, 15_000),
)
def test_holdings_carry_exactly_the_shares_and_money_the_deliveries_brought(steps, final):
    """Whatever the order of deliveries: the open holdings hold their net, and realised plus
    unrealised P&L equals the cash the deliveries moved plus the shares at the final price."""
    book: dict[str, Position] = {}
    net = 0
    cash = 0.0  # each delivery trades its shares at the settlement price
    for n, (lots, cents) in enumerate(steps):
        spot = cents / 100
        kind = "put" if lots > 0 else "call"
        source = option(f"p-{n}", "s", kind, spot, qty=abs(lots))
        for h in deliver(book, source, Delivery("XYZ", 100 * lots, spot, spot, True, kind),
                         ["s"], datetime(2016, 1, 4 + n)):  # fmt: skip
            book[h.id] = h
        net += 100 * lots
        cash -= 100 * lots * spot
    held = [h for h in book.values() if h.status is Status.OPEN]
    assert sum(h.holdings()["XYZ"] for h in held) == net
    assert all(h.holdings()["XYZ"] * net > 0 for h in held)  # never long and short at once
    price = final / 100
    realised = sum(
        h.realised_pnl if h.status is Status.CLOSED else h.detail.get("realised_part", 0.0)
        for h in book.values()
    )
    unrealised = sum((h.entry_price + h.legs[0].ratio // 100 * price) * 100 * h.quantity
                     for h in held)  # fmt: skip
    assert realised + unrealised == pytest.approx(cash + net * price, abs=0.01)


WHEEL_PUT = """
strategy: wheel_put
universe: [XYZ]
legs:
  short: sell put where delta between -0.35 and -0.25
entry:
  - shares_held == 0
exit:
  stop: pnl <= -100
"""


def wheel_call(holdings: str) -> str:
    return f"""
strategy: wheel_call
universe: [XYZ]
holdings:
  strategies: [{holdings}]
  on_assignment: scan
legs:
  short_call: sell call where delta between 0.2 and 0.4 and strike >= avg_cost
entry:
  - uncovered_shares >= 100
exit:
  stop: pnl <= -100
"""


def test_holdings_groups_and_assignment_scans_come_from_the_rule_files(tmp_path):
    (tmp_path / "put.yaml").write_text(WHEEL_PUT)
    (tmp_path / "call.yaml").write_text(wheel_call("wheel_put"))
    rules = load_rules([tmp_path])
    assert rules.holdings_group("wheel_call") == ("wheel_call", "wheel_put")
    assert rules.holdings_group("wheel_put") == ("wheel_put",)
    assert rules.scan_on_assignment("wheel_put") == ["wheel_call"]
    assert rules.scan_on_assignment("wheel_call") == ["wheel_call"]


def test_holdings_naming_a_strategy_no_file_defines_is_refused_with_a_suggestion(tmp_path):
    (tmp_path / "put.yaml").write_text(WHEEL_PUT)
    (tmp_path / "call.yaml").write_text(wheel_call("wheel_pt"))
    with pytest.raises(RulesError, match=r"'wheel_pt', which no rule file defines \(did you mean "
                                         r"'wheel_put'"):  # fmt: skip
        load_rules([tmp_path])


def test_holdings_in_a_portfolio_file_says_where_it_belongs(tmp_path):
    from rulesengine.check.checker import check_file

    path = tmp_path / "risk.yaml"
    path.write_text("portfolio: risk\nholdings:\n  strategies: [wheel_put]\n")
    (error,) = check_file(path, "risk.yaml").errors
    assert error.code == "E011" and "belongs in a strategy file" in error.message
    assert error.line == 2  # the `holdings` line


def test_a_call_the_accounts_shares_cover_carries_no_unbounded_risk(tmp_path):
    # 100 XYZ held; two short calls: the first is covered (max loss 0 in heat), the second
    # is not (its unbounded max loss counts): what covers one call covers no other
    book = PositionBook(Journal(tmp_path / "journal.sqlite"))
    book.add(assigned({}))
    for n in (1, 2):
        call = option(f"p-call-{n}", "wheel_call", "call", 100.0)
        call.status, call.max_loss = Status.OPEN, math.inf
        book.add(call)
    risk = at_risk(book, book.committed())
    assert risk["p-call-1"] == 0.0 and math.isinf(risk["p-call-2"])
    assert free_shares(book) == {"XYZ": 0.0}
    del book.positions["p-call-2"]
    held = exposure(book, None, NOW)
    assert held.max_loss == pytest.approx(88.50 * 100)  # the shares' own risk, nothing more
    assert math.isfinite(held.requirement)
    # the account's requirement is the broker's plus what working entries add: none here
    assert exposure(book, None, NOW, broker_requirement=1000.0).requirement == 1000.0
    assert exposure(book, "wheel_call", NOW).max_loss == 0.0


def test_take_cover_wants_calls_only_and_enough_shares():
    call = option("c", "s", "call", 100.0).legs
    put = option("p", "s", "put", 90.0).legs
    assert take_cover(call, "XYZ", 2, {"XYZ": 200.0})
    assert not take_cover(call, "XYZ", 2, {"XYZ": 199.0})
    assert not take_cover(call + put, "XYZ", 1, {"XYZ": 500.0})  # a put is not covered by shares
    assert not take_cover(call, "ABC", 1, {"XYZ": 500.0})


def test_a_heat_limit_lets_the_wheel_sell_its_covered_call(tmp_path):
    # the wheel pack with a 60% heat cap: the assigned shares are most of the $25,000, and the
    # call sold against them adds no risk, so the cap lets it through
    pack = Path(__file__).resolve().parents[2] / "rules" / "packs" / "wheel"
    shutil.copytree(pack, tmp_path / "wheel")
    risk = tmp_path / "wheel" / "risk.yaml"
    risk.write_text(risk.read_text() + "limits:\n  max_heat: 60%\n")
    file = tmp_path / "wheel" / "tests" / "wheel.yaml"
    scenario = next(s for s in load_scenarios(file) if s.name == "assigned_then_covered")
    out = render(run_scenario(scenario, file))
    first = next(line for line in out.splitlines() if "candidate short_call" in line)
    assert ": entered · 1 x" in first, first  # not "limit: max_heat 60% exceeded (inf ...)"


def test_a_call_spread_leaves_the_shares_uncovered():
    # a call bought against the one sold covers it: the shares are still free for a covered call
    book: dict[str, Position] = {}
    assigned(book)
    spread = option("p-spread", "wheel_call", "call", 100.0)
    spread.legs.append(PositionLeg("long", "XYZ   160212C00105000", 1, "call", 105.0, "2016-02-12"))
    spread.status = Status.OPEN
    book[spread.id] = spread
    assert holding_fields(book.values(), ["wheel_call", "wheel_put"]).uncovered == {"XYZ": 100.0}
    assert short_call_shares(spread.legs, 2) == 0.0
    assert short_call_shares(spread.legs[:1], 2) == 200.0
