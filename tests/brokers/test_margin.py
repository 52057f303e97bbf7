"""Reg-T / CBOE strategy-based margin in the paper account, against hand-computed numbers.

    short put   max(P% x S - OTM, 10% x K) + premium
    short call  max(P% x S - OTM, 10% x S) + premium
    strangle    the greater side + the other side's premium
P% = 20% (equity), 15% (broad-based index). Cash accounts keep the worst loss at expiry."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from brokers.occ import OptionContract, format_occ
from brokers.paper.margin import Market, margin_credit, requirement


def occ(root: str, right: str, strike: str) -> str:
    return format_occ(OptionContract(root, date(2024, 4, 19), right, Decimal(strike)))


def market(prices: dict[str, str], marks: dict[str, str]) -> Market:
    return Market(
        lambda u: Decimal(prices[u]) if u in prices else None,
        lambda s: Decimal(marks[s]) if s in marks else None,
    )


AAPL_PUT, AAPL_CALL = occ("AAPL", "P", "140"), occ("AAPL", "C", "160")
AAPL = market({"AAPL": "150"}, {AAPL_PUT: "2.00", AAPL_CALL: "1.50"})
MULT = {AAPL_PUT: 100, AAPL_CALL: 100}


def test_a_naked_equity_put():
    # 20% x 150 - 10 OTM = 20 > 10% x 140 = 14; + 2.00 premium = 22 per share
    assert requirement({AAPL_PUT: -1}, MULT, AAPL) == Decimal("2200.00")
    assert requirement({AAPL_PUT: -3}, MULT, AAPL) == Decimal("6600.00")
    assert requirement({AAPL_PUT: -1}, MULT) == Decimal("14000")  # cash: the strike, secured


def test_a_naked_equity_call_is_margined_not_refused():
    # 20% x 150 - 10 OTM = 20 > 10% x 150 = 15; + 1.50 = 21.50 per share
    assert requirement({AAPL_CALL: -1}, MULT, AAPL) == Decimal("2150.00")
    assert requirement({AAPL_CALL: -1}, MULT) is None  # a cash account: unbounded, refused


def test_a_strangle_is_the_greater_side_plus_the_other_premium():
    # put side 2,200 > call side 2,150; + the call's 1.50 x 100
    assert requirement({AAPL_PUT: -1, AAPL_CALL: -1}, MULT, AAPL) == Decimal("2350.00")


def test_the_ten_percent_floor_for_far_out_of_the_money_options():
    far = occ("AAPL", "P", "100")
    # 20% x 150 - 50 OTM = -20 < 10% x 100 = 10; + 0.10 = 10.10 per share
    m = market({"AAPL": "150"}, {far: "0.10"})
    assert requirement({far: -1}, {far: 100}, m) == Decimal("1010.00")


def test_a_broad_index_uses_fifteen_percent():
    put = occ("SPXW", "P", "3800")
    m = market({"SPX": "4000"}, {put: "10.00"})
    # 15% x 4000 - 200 OTM = 400 > 10% x 3800 = 380; + 10 = 410 per share
    assert requirement({put: -1}, {put: 100}, m) == Decimal("41000.00")


def test_a_spread_still_needs_only_its_width():
    short, long = occ("AAPL", "P", "140"), occ("AAPL", "P", "135")
    m = market({"AAPL": "150"}, {short: "2.00", long: "1.00"})
    assert requirement({short: -1, long: 1}, {short: 100, long: 100}, m) == Decimal("500")


def test_without_the_underlying_price_the_worst_loss_stands():
    assert requirement({AAPL_PUT: -1}, MULT, market({}, {})) == Decimal("14000")
    assert requirement({AAPL_CALL: -1}, MULT, market({}, {})) is None


def test_short_stock_needs_reg_t_150_percent_in_a_margin_account_and_is_refused_in_cash():
    # 150% x 150 x 100: the proceeds (15,000) and half the value again (7,500)
    assert requirement({"AAPL": -100}, {}, AAPL) == Decimal("22500.0")
    assert requirement({"AAPL": -100}, {}) is None  # a cash account never sells short
    assert requirement({"AAPL": -100}, {}, market({}, {})) is None  # no price: refused
    # short shares cover no call: the naked call keeps its own requirement beside them
    both = requirement({"AAPL": -100, AAPL_CALL: -1}, MULT, AAPL)
    assert both == Decimal("22500.0") + Decimal("2150.00")  # 20% x 150 - 10 OTM + 1.50


def test_a_margin_account_lends_half_of_its_long_shares_value():
    held = {"AAPL": 200, AAPL_PUT: -1}
    assert margin_credit(held, MULT, AAPL) == Decimal("15000.0")  # 50% x 150 x 200
    assert margin_credit({"AAPL": 200}, {}, None) == 0  # a cash account pays in full
    assert margin_credit({"AAPL": -100}, {}, AAPL) == 0


@given(
    st.integers(50, 400),  # underlying
    st.integers(10, 600),  # strike
    st.decimals("0.05", "30", places=2),  # mark
    st.integers(1, 20),  # contracts
)
def test_margin_never_exceeds_the_cash_secured_amount_nor_falls_below_the_floor(s, k, mark, n):
    put = occ("XYZ", "P", str(k))
    m = market({"XYZ": str(s)}, {put: str(mark)})
    need = requirement({put: -n}, {put: 100}, m)
    cash_secured = requirement({put: -n}, {put: 100})
    assert need is not None and cash_secured is not None
    assert need <= cash_secured
    floor = (Decimal("0.10") * k + mark) * 100 * n
    assert need >= min(floor, cash_secured)
