"""The synthetic market: deterministic, arbitrage-free mids, quotes shaped like the real SPX."""

from datetime import date

import numpy as np
import pytest

from rulesengine.analytics.ssvi import SSVI
from rulesengine.data.chain import to_seconds
from rulesengine.data.synthetic import (
    QuoteModel,
    expiries,
    synthetic_chain,
    synthetic_history,
    synthetic_market,
)

DAY = date(2011, 1, 3)


@pytest.fixture(scope="module")
def spx_like():
    return synthetic_chain(DAY, [1271.87], [SSVI()], ["SPX"], seed=7)


def test_deterministic_by_seed():
    a = synthetic_market(3, 400, seed=5)
    b = synthetic_market(3, 400, seed=5)
    c = synthetic_market(3, 400, seed=6)
    for name in ("bid", "ask", "open_interest", "volume", "strike", "symbol"):
        assert np.array_equal(a.column(name), b.column(name))
    assert not np.array_equal(a.column("bid"), c.column("bid"))


def test_listed_expiries():
    listed = expiries(DAY)
    assert listed[0] == date(2011, 1, 7) and all(e.weekday() == 4 for e in listed)
    assert date(2011, 1, 21) in listed and date(2012, 12, 21) in listed  # monthly, quarterly
    assert len(listed) == len(set(listed))


def test_model_mids_are_free_of_static_arbitrage(spx_like):
    col = spx_like.column
    calls = col("type") == 1
    for expiry in np.unique(col("expiry")):
        rows = np.flatnonzero(calls & (col("expiry") == expiry))
        rows = rows[np.argsort(col("strike")[rows])]
        price, strike = col("last")[rows], col("strike")[rows]
        slope = np.diff(price) / np.diff(strike)
        assert (slope <= 1e-9).all() and (slope >= -1 - 1e-9).all()  # decreasing, bounded
        assert (np.diff(slope) >= -1e-9).all()  # convex: no butterfly arbitrage
    atm = np.flatnonzero(calls & (np.abs(col("strike") - 1270) < 1e-9))
    by_expiry = col("last")[atm[np.argsort(col("expiry")[atm])]]
    assert (np.diff(by_expiry) > 0).all()  # no calendar arbitrage at the money


def test_quotes_are_sane(spx_like):
    col = spx_like.column
    assert (col("bid") >= 0).all() and (col("ask") > col("bid")).all()
    assert (col("bid") <= col("last") + 1e-9).all() and (col("ask") >= col("last") - 1e-9).all()
    cents = np.round(col("ask") * 100)
    assert (np.abs(col("ask") * 100 - cents) < 1e-6).all() and (cents % 5 == 0).all()
    assert 1900 <= len(spx_like) <= 2000
    assert spx_like.source == "synthetic SSVI (seed 7)"


def test_quote_statistics_resemble_the_real_spx_week(spx, spx_like):
    real = spx.on(DAY)
    for chain_ in (real, spx_like):
        assert 0.15 < (chain_.column("volume") > 0).mean() < 0.35  # 24% traded in the real week

    def median_spread(c, low, high):
        d = np.abs(c.column("delta"))
        rows = (d >= low) & (d < high) & (c.column("bid") > 0)
        return np.median(c.column("spread")[rows])

    for low, high in ((0.05, 0.2), (0.2, 0.5), (0.5, 0.8)):
        ratio = median_spread(spx_like, low, high) / median_spread(real, low, high)
        assert 0.5 < ratio < 2.0, (low, high, ratio)


def test_the_quote_model_is_the_least_squares_fit_of_the_real_week(spx):
    col = spx.column
    rows = ~col("interpolated") & (col("bid") > 0) & np.isfinite(col("delta"))
    x = np.column_stack(
        [
            np.ones(rows.sum()),
            np.log(col("mid")[rows]),
            np.abs(col("delta")[rows]),
            np.log(col("dte")[rows] + 1),
        ]
    )
    fit, *_ = np.linalg.lstsq(x, np.log(col("spread")[rows]), rcond=None)
    np.testing.assert_allclose(fit, QuoteModel().spread, atol=1e-3)


def test_history_anchors_to_the_real_vix():
    from rulesengine.data.bars import load_bars

    pytest.importorskip("arch")
    sp500, vix = load_bars("arch:sp500"), load_bars("arch:vix")
    history = synthetic_history(
        sp500, "SPX", date(2018, 2, 1), date(2018, 2, 9), seed=1, vix=vix, contracts_per=400
    )
    days = history.quote_dates()
    assert len(days) == 7 and date(2018, 2, 5) in days  # the VIX spike day
    spike = history.on(date(2018, 2, 5))
    vix_close = vix.close[np.searchsorted(vix.dates, to_seconds(date(2018, 2, 5)))]
    assert spike.column("underlying_price")[0] == pytest.approx(
        sp500.close[np.searchsorted(sp500.dates, to_seconds(date(2018, 2, 5)))]
    )
    assert SSVI().anchored(vix_close / 100).implied_vol(0.0, 30 / 365) == pytest.approx(
        vix_close / 100
    )
    assert 0.8 * vix_close / 100 < spike.column("atm_iv")[0] < 1.2 * vix_close / 100
    assert len(spike.bars["SPX"].dates) > 4000  # indicators see the real history


def test_the_engine_scans_a_synthetic_chain(spx_like):
    from rulesengine.check.checker import check_file
    from rulesengine.compile import compile_program
    from rulesengine.strategies.scan import scan
    from tests.conftest import RULES

    program = check_file(RULES / "iron_condor.yaml").program
    result = scan(program, compile_program(program), spx_like)
    # the ~45 DTE monthly is chosen, its four legs are found, the entry conditions judge them
    assert [s.rows_out for s in result.funnel if s.label == "prefer dte nearest 45"] == [86]
    short_put = [s for s in result.funnel if s.stage == "leg:short_put"]
    assert short_put[-1].rows_out == 1  # the 16-delta put of that expiry
    assert result.funnel[-1].stage == "entry"


def test_a_listed_strike_stays_listed_until_its_series_expires():
    """Issue 12 #1: the synthetic chain dropped strikes that were held; a real exchange never
    delists a strike with open interest. Over a falling, volatile month (Feb 2018)."""
    from rulesengine.data.bars import load_bars

    pytest.importorskip("arch")
    sp500, vix = load_bars("arch:sp500"), load_bars("arch:vix")
    history = synthetic_history(
        sp500, "SPX", date(2018, 1, 25), date(2018, 3, 2), seed=3, vix=vix, contracts_per=600
    )
    days = history.quote_dates()
    listed_before: set[str] = set()
    for day in days:
        snapshot = history.on(day)
        symbols = set(snapshot.column("symbol").tolist())
        alive = {s for s in listed_before if _expiry_of(s) >= day}
        assert alive <= symbols, f"{day}: {sorted(alive - symbols)[:3]} delisted"
        listed_before |= symbols
        strikes = snapshot.column("strike")
        spot = float(snapshot.column("underlying_price")[0])
        assert strikes.min() >= 0.5 * spot * 0.9 and strikes.max() <= 2.0 * spot * 1.1
    assert len(history.on(days[-1])) < 3 * 600  # new strikes at the edges, not a new grid daily


def _expiry_of(symbol: str) -> date:
    ymd = symbol[6:12]
    return date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))


def test_a_wide_universe_keeps_its_nearest_expiries():
    chain = synthetic_market(20, 304, max_expiries=8)
    assert len(chain.underlyings()) == 20
    assert len(np.unique(chain.columns["expiry"])) == 8
    assert len(chain) == 20 * 8 * 19 * 2  # 19 strikes a series, calls and puts
