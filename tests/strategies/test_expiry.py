"""Issue 16: expiry fields from the date, the root and the exchange calendar; the `expiry:`
section choosing one expiry per underlying before the legs' strikes."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from rulesengine.check.checker import check_text
from rulesengine.compile import compile_program
from rulesengine.data import expiries
from rulesengine.data.chain import Bars, from_seconds, to_seconds
from rulesengine.data.synthetic import synthetic_history
from rulesengine.strategies.scan import candidate_records, scan

DAY = date(2011, 1, 3)


def cycles_by_expiry(chain) -> dict[tuple[str, str], str]:
    names = expiries.CYCLES
    return {
        (from_seconds(e).isoformat(), str(r)): names[int(k)]
        for e, r, k in zip(
            chain.column("expiry"), chain.column("root"), chain.column("expiry_cycle"), strict=True
        )
    }


def test_spx_week_monthlies_weeklies_and_quarterlies(spx_day):
    cycles = cycles_by_expiry(spx_day)
    assert cycles[("2011-01-21", "SPX")] == "monthly"
    assert cycles[("2011-02-18", "SPX")] == "monthly"
    assert cycles[("2011-01-07", "SPXW")] == "weekly"
    assert cycles[("2011-03-31", "SPXPM")] == "daily"  # a Thursday quarterly
    monthly = spx_day.column("is_monthly")
    assert set(spx_day.column("root")[monthly]) == {"SPX"}


def test_a_weekly_root_on_the_third_friday_is_not_the_monthly():
    third = expiries.third_friday(2024, 3)
    assert third == date(2024, 3, 15)
    assert expiries.cycle_of(third, weekly_root=True) == expiries.CYCLES.index("weekly")
    assert expiries.cycle_of(third, weekly_root=False) == expiries.CYCLES.index("monthly")


def test_synthetic_chains_know_their_monthlies():
    days = [date(2017, 12, 29), date(2018, 1, 2), date(2018, 1, 3)]
    bars = Bars.from_closes({to_seconds(d): 2700.0 + i for i, d in enumerate(days)})
    chain = synthetic_history(bars, "SPX", days[1], days[1], seed=1, contracts_per=200)
    cycles = cycles_by_expiry(chain)
    assert cycles[("2018-01-19", "SPX")] == "monthly"
    assert cycles[("2018-01-12", "SPX")] == "weekly"
    assert cycles[("2018-02-16", "SPX")] == "monthly"


def test_trading_days_to_expiry_skip_holidays():
    """Good Friday 2014 (April 18) closed the exchange: that month's options expired on the
    Thursday, and the week has four sessions."""
    quote, expiry = to_seconds(date(2014, 4, 14)), to_seconds(date(2014, 4, 17))
    assert expiries.trading_dte(np.array([quote]), np.array([expiry]))[0] == 3
    after = to_seconds(date(2014, 4, 21))
    assert expiries.trading_dte(np.array([quote]), np.array([after]))[0] == 4  # not 5
    assert expiries.cycle_of(date(2014, 4, 17), weekly_root=False) == 0  # the monthly
    mlk = expiries.trading_dte(
        np.array([to_seconds(DAY)]), np.array([to_seconds(date(2011, 1, 21))])
    )
    assert mlk[0] == 13  # 14 weekdays, less Martin Luther King day


def test_week_of_month():
    days = np.array([to_seconds(date(2011, 1, d)) for d in (1, 7, 8, 21, 31)])
    assert list(expiries.week_of_month(days)) == [1, 1, 2, 3, 5]


FAR = "bid >= 5 and delta > -0.10"
RANKED = f"""
strategy: ranked
universe: [SPX]
legs:
  short: put where {FAR} and is_monthly prefer dte nearest 45
"""
EXPIRY_FIRST = f"""
strategy: first
universe: [SPX]
expiry: where is_monthly prefer dte nearest 45
legs:
  short: put where {FAR} prefer delta nearest -0.05
"""


def picks(text: str, chain) -> list[str]:
    program = check_text(text).program
    result = scan(program, compile_program(program), chain)
    return [r["legs"][0]["symbol"] for r in candidate_records(result, program, chain, 3)]


def test_expiry_first_differs_from_ranking(spx_day):
    """Ranking `prefer dte nearest 45` trades March when February's strikes fail the filter;
    choosing the expiry first keeps February and finds nothing."""
    assert picks(RANKED, spx_day)[0].startswith("SPX   110319P")
    assert picks(EXPIRY_FIRST, spx_day) == []
    easier = EXPIRY_FIRST.replace(FAR, "bid >= 3 and delta > -0.08")
    assert [s[:13] for s in picks(easier, spx_day)] == ["SPX   110219P"]


def test_the_funnel_shows_the_expiry_choice(spx_day):
    program = check_text(EXPIRY_FIRST).program
    result = scan(program, compile_program(program), spx_day)
    steps = [(s.stage, s.label, s.rows_in, s.rows_out) for s in result.funnel[:3]]
    assert steps[1] == ("expiry", "is_monthly", 1936, 1632)
    assert steps[2][:2] == ("expiry", "prefer dte nearest 45")
    assert steps[2][3] == 312  # the February monthly's 156 strikes x 2 types


@pytest.mark.parametrize(
    ("section", "code", "says"),
    [
        ("prefer delta nearest 45", "E110", "'delta', which differs between the contracts"),
        ("prefer dte nearest 45 keep 2", "E110", "`keep` does not apply"),
        ("where dte prefer dte nearest 45", "E202", "must be true or false"),
    ],
)
def test_expiry_section_lint(section, code, says):
    text = EXPIRY_FIRST.replace("where is_monthly prefer dte nearest 45", section)
    result = check_text(text)
    assert any(d.code == code and says in d.message for d in result.errors), result.diagnostics
