"""Issue 13 #1: an absurd quote never becomes an entry, a mark, a fill or P&L; it is named."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulesengine.cli.main import main
from rulesengine.data import sanity
from rulesengine.data.chain import Chain
from rulesengine.engine.ruleset import load_rules
from rulesengine.strategies.scan import scan
from tests.engine.harness import Harness
from tests.engine.test_data_safety import CARELESS, dirtied, top_short_leg

pytestmark = pytest.mark.anyio

ABSURD = {"bid": 1_000_000.0, "ask": 1_000_000.0}


def held_spread(h):
    (p,) = h.positions("open")
    short = next(leg for leg in p.legs if leg.ratio < 0)
    long = next(leg for leg in p.legs if leg.ratio > 0)
    return p, short.symbol, long.symbol


@pytest.mark.parametrize("side", ["long", "short"])
async def test_a_million_dollar_quote_on_a_held_leg_books_nothing(harness, side, capsys):
    h = harness({"careless.yaml": CARELESS})
    await h.day(0)
    p, short, long = held_spread(h)
    bad = long if side == "long" else short
    report = await h.day(1, chain=dirtied(h.snapshot(1), bad, **ABSURD))
    assert report.exits == 0  # neither a windfall take-profit nor a -2e8 stop
    (still,) = [q for q in h.positions("open") if q.id == p.id]
    assert abs(still.detail["pnl"]) < 25 * 100  # within the spread's width
    assert still.detail["marked_by_model"] is True
    (why,) = [r for r in h.decisions("mark") if r["subject"] == p.id]
    assert why["outcome"] == "quote_rejected"
    assert bad.strip() in why["reason"] and "put quoted above its strike" in why["reason"]
    account = await h.broker.account()
    assert abs(float(account.net_liquidation) - 100_000) < 2_500  # no phantom millions
    assert not h.journal.locks()  # no breaker tripped on a phantom loss
    assert main(["why", p.id, "--data-dir", str(h.data_dir)]) == 0
    said = " ".join(capsys.readouterr().out.split())  # unwrapped
    assert "mark: quote_rejected" in said and "put quoted above its strike" in said


async def test_an_absurd_credit_is_never_entered_and_the_funnel_names_it(harness):
    h = harness({"careless.yaml": CARELESS})
    symbol = top_short_leg(h)
    chain = dirtied(h.snapshot(0), symbol, bid=1_000_000.0, ask=1_000_000.10)
    await h.day(0, chain=chain)
    assert all(symbol not in {leg.symbol for leg in p.legs} for p in h.positions())
    (scan_row,) = h.decisions("scan")
    funnel = json.loads(scan_row["detail"])["funnel"]
    step = next(s for s in funnel if s["clause"] == "quote: put not above its strike")
    assert step["stage"] == "leg:short" and step["in"] - step["out"] == 1


def scanned(h, chain: Chain, text: str):
    (h.rules_dir / "careless.yaml").write_text(text)
    compiled = load_rules([h.rules_dir]).strategies["careless"]
    return scan(compiled.program, compiled.graph, chain)


def test_a_corrupt_strike_is_refused_and_an_infinite_rank_never_ranks(harness):
    h = harness({"careless.yaml": CARELESS})
    symbol = top_short_leg(h)
    chain = dirtied(h.snapshot(0), symbol, strike=1e308)
    result = scanned(h, chain, CARELESS)
    assert symbol not in {str(s) for s in chain.columns["symbol"][result.selection.rows["short"]]}
    steps = {s.label: s for s in result.funnel if s.stage == "leg:short"}
    strike_step = steps["quote: strike sane against the underlying"]
    assert strike_step.rows_in - strike_step.rows_out == 1
    infinite = CARELESS + "rank: 1 / (short.strike - short.strike)\n"
    result = scanned(h, h.snapshot(0), infinite)
    assert len(result.order) == 0 and np.isfinite(result.rank).all()
    assert any(s.label == "rank score is a finite number" for s in result.funnel)


def test_bounds_name_each_absurd_quote():
    bid = np.array([1.0, 1e6, 1e6, 5.0, np.inf, 2.0])
    ask = np.array([1.2, 1e6, 1e6, 5.5, np.inf, 1.0])
    strike = np.array([100.0, 100.0, 100.0, 1e308, 100.0, 100.0])
    spot = np.full(6, 100.0)
    call = np.array([True, True, False, True, True, True])
    codes = sanity.bound_problems(bid, ask, strike, spot, call)
    assert list(codes) == [
        sanity.OK,
        sanity.CALL_ABOVE_UNDERLYING,
        sanity.PUT_ABOVE_STRIKE,
        sanity.BAD_STRIKE,
        sanity.NO_QUOTE,
        sanity.NO_QUOTE,  # crossed
    ]


def test_a_one_off_jump_is_rejected_and_a_confirmed_level_accepted():
    history = sanity.QuoteHistory()
    symbols = np.array(["A"])

    def seen(mid: float, spot: float = 100.0) -> int:
        problems = np.zeros(1, np.int8)
        history.screen(symbols, np.array([mid]), np.array([spot]), problems)
        return int(problems[0])

    assert seen(2.0) == sanity.OK
    assert seen(2.4) == sanity.OK  # an ordinary move
    assert seen(60.0) == sanity.JUMP  # far beyond 3x its value with the underlying still
    assert seen(2.5) == sanity.OK  # the print went away
    assert seen(60.0) == sanity.JUMP
    assert seen(61.0) == sanity.OK  # the next snapshot confirms the new level
    assert seen(80.0, spot=125.0) == sanity.OK  # the underlying moved 25: a 19 move is fine


prices = st.one_of(
    st.sampled_from([0.0, -5.0, math.inf, -math.inf, math.nan, 1e200, 1e6, 5_000.0]),
    st.floats(min_value=0, max_value=2_000, allow_nan=False),
)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    leg=st.sampled_from(["long", "short"]),
    bid=prices,
    ask=prices,
    spot=st.sampled_from([None, 0.0, 1e200, math.nan]),
)
def test_no_corrupt_quote_moves_a_spreads_mark_outside_its_bounds(
    tmp_path_factory, spx, leg, bid, ask, spot
):
    """Property: whatever one snapshot says about a held leg, the spread's P&L stays within
    what a 25-wide spread can make or lose, the account stays finite, nothing trips."""
    import anyio

    h = Harness(tmp_path_factory.mktemp("q"), spx, {"careless.yaml": CARELESS})

    async def run() -> None:
        await h.day(0)
        p, short, long = held_spread(h)
        values = {"bid": bid, "ask": ask}
        if spot is not None:
            values["underlying_price"] = spot
        await h.day(1, chain=dirtied(h.snapshot(1), long if leg == "long" else short, **values))
        (still,) = [q for q in h.positions() if q.id == p.id]
        assert still.status == "open"
        assert abs(still.detail["pnl"]) <= 25 * 100
        net_liq = float((await h.broker.account()).net_liquidation)
        assert math.isfinite(net_liq) and abs(net_liq - 100_000) < 5_000
        assert not h.journal.locks()

    anyio.run(run)
