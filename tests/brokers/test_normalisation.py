"""The normalisation layer on its own: symbols, wire values, keys, prices, requirements."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brokers.credentials import EnvVar, Secret, read_env, redact
from brokers.errors import CredentialsMissing
from brokers.idempotency import client_key, is_ours
from brokers.model import OptionContract, OrderLeg, PriceEffect
from brokers.occ import (
    SymbolError,
    format_occ,
    from_streamer,
    padded,
    parse_occ,
    streamer_symbol,
    underlying_of,
    unpadded,
)
from brokers.paper.margin import requirement
from brokers.pricing import ComboMarket, step_toward_natural
from brokers.ticks import tick_size
from brokers.wire import decimal_or_none, iv_from_percent, timestamp

contracts = st.builds(
    OptionContract,
    root=st.sampled_from(["SPY", "SPX", "SPXW", "AAPL", "QQQ", "BRKB"]),
    expiry=st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    right=st.sampled_from(["C", "P"]),
    strike=st.decimals(Decimal("0.5"), Decimal("99999.5"), places=1),
)


@given(contracts)
def test_every_spelling_round_trips_to_padded_occ(c):
    symbol = format_occ(c)
    assert len(symbol) == 21 and parse_occ(symbol) == c
    assert padded(unpadded(symbol)) == symbol
    assert from_streamer(streamer_symbol(symbol)) == symbol


def test_documented_spellings():
    assert unpadded("SPY   240419P00500000") == "SPY240419P00500000"
    assert streamer_symbol("SPXW  240312P05100000") == ".SPXW240312P5100"
    assert streamer_symbol("SPY   240419P00502500") == ".SPY240419P502.5"
    assert underlying_of("SPXW  240312P05100000") == "SPX"
    assert padded("AAPL") == "AAPL"
    with pytest.raises(SymbolError):
        parse_occ("SPY 2404")


@pytest.mark.parametrize("raw", [None, "", "NaN", "-Infinity", -999, "-999.0", "abc", True])
def test_missing_values_become_none(raw):
    assert decimal_or_none(raw) is None


def test_wire_numbers_and_units():
    assert decimal_or_none("1.05") == Decimal("1.05") and decimal_or_none(0.54) == Decimal("0.54")
    assert iv_from_percent(15.231) == pytest.approx(0.15231)
    assert iv_from_percent(-999.0) is None
    assert timestamp(1710255703512) == datetime(2024, 3, 12, 15, 1, 43, 512000, tzinfo=UTC)
    assert timestamp("2024-03-12T14:35:00.512Z").tzinfo is not None


def test_retry_after_as_an_http_date():
    from email.utils import format_datetime

    from brokers.http import _retry_after

    later = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 <= _retry_after(format_datetime(later, usegmt=True)) <= 30
    assert _retry_after("7") == 7.0 and _retry_after(None) is None


def test_client_keys_are_stable_short_and_specific():
    legs = (OrderLeg("SPY   240419P00500000", -1), OrderLeg("SPY   240419P00495000", 1))
    at = datetime(2024, 3, 12, 14, 35, tzinfo=UTC)
    key = client_key("Bull put SPY", "v3", at, legs)
    assert key == client_key("Bull put SPY", "v3", at, legs) and is_ours(key)
    assert len(key) <= 40 and key.startswith("re-bull_put_spy-")
    assert key != client_key("Bull put SPY", "v4", at, legs)
    assert key != client_key("Bull put SPY", "v3", at + timedelta(seconds=1), legs)
    assert key != client_key("Bull put SPY", "v3", at, legs[:1])
    with pytest.raises(ValueError, match="timezone"):
        client_key("s", "v", datetime(2024, 3, 12), legs)


def test_secrets_never_print_and_missing_ones_are_named():
    secret = Secret("hunter2-very-secret")
    assert "hunter2" not in repr(secret) + str(secret) + f"{secret}"
    assert redact("body: hunter2-very-secret") == "body: ***"
    assert redact("Authorization: Bearer abc.def-ghi") == "Authorization: Bearer ***"
    with pytest.raises(CredentialsMissing) as caught:
        read_env("demo", [EnvVar("DEMO_KEY", "the key"), EnvVar("DEMO_OPT", "x", False)], {})
    assert "export DEMO_KEY=" in str(caught.value) and "DEMO_OPT" not in str(caught.value)


def test_tick_sizes():
    assert tick_size("SPX", Decimal("2.95")) == Decimal("0.05")
    assert tick_size("SPX", Decimal("3.00")) == Decimal("0.10")
    assert tick_size("SPY", Decimal("7.13")) == Decimal("0.01")
    assert tick_size("AAPL", Decimal("3.50")) == Decimal("0.05")
    assert tick_size("SPXW", Decimal("1.00"), legs=4) == Decimal("0.05")
    assert tick_size("XYZ", Decimal("1.00"), legs=2) == Decimal("0.01")


prices = st.decimals(Decimal("-20"), Decimal("20"), places=2)


@given(
    start=prices,
    mid=prices,
    half=st.decimals(Decimal("0"), Decimal("3"), places=2),
    ticks=st.integers(1, 50),
    tick=st.sampled_from([Decimal("0.01"), Decimal("0.05")]),
)
def test_the_walk_never_passes_natural_and_never_flips(start, mid, half, ticks, tick):
    if start == 0:
        return
    effect = PriceEffect.CREDIT if start > 0 else PriceEffect.DEBIT
    market = ComboMarket(mid=mid, natural=mid - half)
    price = step_toward_natural(abs(start), effect, market, tick, ticks)
    signed = effect.signed(price)
    assert price > 0  # never zero, never the other side
    assert signed <= start + tick  # never less aggressive than where it was (but rounding)
    if start >= market.natural:  # it was not past natural already: it stays on its side
        assert signed >= market.natural or signed == effect.signed(tick)


def _symbol(right, strike):
    return format_occ(OptionContract("SPY", date(2024, 4, 19), right, Decimal(strike)))


def test_requirements_of_common_structures():
    m = {}
    vertical = {_symbol("P", 500): -1, _symbol("P", 495): 1}
    assert requirement(vertical, m) == Decimal(500)
    condor = {**vertical, _symbol("C", 520): -1, _symbol("C", 530): 1}
    assert requirement(condor, m) == Decimal(1000)  # the wider wing
    assert requirement({_symbol("P", 500): -1}, m) == Decimal(50_000)  # cash-secured
    assert requirement({_symbol("C", 520): -1}, m) is None  # naked call
    assert requirement({_symbol("C", 520): -1, "SPY": 100}, m) == Decimal(0)  # covered
    assert requirement({_symbol("C", 520): 1}, m) == Decimal(0)  # long premium is paid
