"""ATM IV history per underlying, and iv_rank / iv_percentile in rules."""

from datetime import date

import pytest

from rulesengine.analytics import indicators as ind
from rulesengine.check.checker import check_text
from rulesengine.compile import compile_program
from rulesengine.strategies.scan import scan


def passes(condition, chain):
    text = (
        f"strategy: t\nunderlying:\n  - {condition}\n"
        "legs:\n  short: put where dte between 30 and 60\nexit:\n  s: pnl <= -$1\n"
    )
    program = check_text(text).program
    result = scan(program, compile_program(program), chain)
    step = next(f for f in result.funnel if f.stage == "underlying")
    return step.rows_out == 1, result.missing


def test_history_is_the_atm_iv_of_each_quote_date(spx):
    history = spx.on(date(2011, 1, 7)).iv_history["SPX"]
    assert len(history.dates) == 5
    for day, value in zip(spx.quote_dates(), history.close, strict=True):
        assert value == pytest.approx(spx.on(day).column("atm_iv")[0])
    assert len(spx.on(date(2011, 1, 5)).iv_history["SPX"].dates) == 3  # no peeking ahead


def test_iv_rank_in_rules(spx):
    day = spx.on(date(2011, 1, 7))
    rank = ind.iv_rank(day.iv_history["SPX"].close, 5)[-1]
    assert 0 < rank < 1
    assert passes(f"iv_rank(5) >= {100 * rank - 0.1:.4f}%", day)[0]
    assert not passes(f"iv_rank(5) >= {100 * rank + 0.1:.4f}%", day)[0]
    percentile = ind.iv_percentile(day.iv_history["SPX"].close, 5)[-1]
    assert passes(f"iv_percentile(5) == {percentile}", day)[0]
    ok, missing = passes("iv_rank > 10%", day)  # the field is iv_rank(252)
    assert not ok and missing == ["iv_rank(252) needs 252+ days of ATM IV history of SPX, has 5"]


def test_a_year_of_synthetic_history_gives_iv_rank():
    from rulesengine.data.bars import load_bars
    from rulesengine.data.synthetic import synthetic_history

    pytest.importorskip("arch")
    history = synthetic_history(
        load_bars("arch:sp500"),
        "SPX",
        date(2017, 1, 3),
        date(2018, 2, 9),
        vix=load_bars("arch:vix"),
        contracts_per=200,
    )
    spike = history.on(date(2018, 2, 5))  # the VIX closed at 37.32: the year's highest IV
    assert len(spike.iv_history["SPX"].dates) > 252
    ok, missing = passes("iv_rank >= 100%", spike)
    assert ok and not missing
    after = ind.iv_rank(history.on(date(2018, 2, 9)).iv_history["SPX"].close, 252)[-1]
    assert 0.5 < after < 1.0  # four days later the IV is off its high
