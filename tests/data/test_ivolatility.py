"""The real SPX file's dirt, normalised."""

from datetime import date

import numpy as np
import pytest

from rulesengine.data.chain import from_seconds
from rulesengine.data.formats import ChainFileError, load_chain
from rulesengine.data.normalised import save


def test_shape_and_dates(spx):
    assert len(spx) == 9832  # 1936 + 1942 + 1942 + 2006 + 2006 (the shared README says 9,831)
    assert spx.quote_dates() == [date(2011, 1, d) for d in (3, 4, 5, 6, 7)]
    assert len(spx.on(date(2011, 1, 3))) == 1936


def test_missing_iv_becomes_nan_and_interpolated_rows_are_flagged(spx):
    iv = spx.column("iv")
    assert np.isnan(iv).sum() == 216
    assert set(spx.column("root")[np.isnan(iv)]) == {"SPXPM"}
    assert spx.column("interpolated").sum() == 3431


def test_saturday_symbol_expires_on_friday_and_am_pm_settlement(spx):
    row = int(np.flatnonzero(spx.column("symbol") == "SPX   110122C01200000")[0])
    assert from_seconds(spx.column("expiry")[row]) == date(2011, 1, 21)
    assert spx.column("settlement")[row] == 0  # am: SPX monthlies settle on the open
    weekly = int(np.flatnonzero(spx.column("root") == "SPXW")[0])
    assert spx.column("settlement")[weekly] == 1


def test_vega_and_rho_are_per_point(spx):
    import csv

    from tests.conftest import SPX_FILE

    with open(SPX_FILE, newline="") as handle:
        raw = next(
            r for r in csv.DictReader(handle) if r["option_symbol"] == "SPX   110219P01200000"
        )
    row = int(np.flatnonzero(spx.column("symbol") == "SPX   110219P01200000")[0])
    assert spx.column("vega")[row] == pytest.approx(float(raw["vega"]) / 100)  # per vol point
    assert spx.column("rho")[row] == pytest.approx(float(raw["rho"]) / 100)  # per rate point
    assert spx.column("delta")[row] == pytest.approx(float(raw["delta"]))  # unchanged


def test_zero_bids_are_kept_for_rules_to_judge(spx):
    assert (spx.column("bid") == 0).sum() == 998


def test_derived_fields(spx_day):
    row = int(np.flatnonzero(spx_day.column("symbol") == "SPX   110219P01200000")[0])
    assert spx_day.column("mid")[row] == pytest.approx(10.15)
    assert spx_day.column("dte")[row] == 46
    assert spx_day.column("moneyness")[row] == pytest.approx(1200 / 1271.87 - 1)
    assert not spx_day.column("itm")[row]
    assert spx_day.column("atm_iv")[0] == pytest.approx(spx_day.column("atm_iv")[-1])
    assert 0.10 < spx_day.column("atm_iv")[0] < 0.25


def test_normalised_format_round_trips(spx_day, tmp_path):
    path = tmp_path / "chain.csv"
    save(spx_day.take(np.arange(50)), path)
    again = load_chain(path)
    for name in ("strike", "expiry", "bid", "type", "settlement", "interpolated"):
        assert np.array_equal(again.column(name), spx_day.column(name)[:50], equal_nan=True)


def test_unreadable_chain_files_get_a_clear_error(tmp_path):
    with pytest.raises(ChainFileError, match="not found"):
        load_chain(tmp_path / "missing.csv")
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b\n1,2\n")
    with pytest.raises(ChainFileError, match="unrecognised chain format"):
        load_chain(odd)


def test_expected_move_and_prob_touch_fields(spx_day):
    col = spx_day.column
    # the expiry nearest 30 days on 2011-01-03 is 2011-01-21 (18 days); ATM strike 1270
    call = int(np.flatnonzero(col("symbol") == "SPX   110122C01270000")[0])
    put = int(np.flatnonzero(col("symbol") == "SPX   110122P01270000")[0])
    assert col("expected_move")[0] == pytest.approx(col("mid")[call] + col("mid")[put])
    row = int(np.flatnonzero(col("symbol") == "SPX   110219P01200000")[0])
    touch = col("prob_touch")[row]
    assert 1.8 * abs(col("delta")[row]) < touch < 2.4 * abs(col("delta")[row])  # ~ twice delta


def test_rules_can_use_the_new_fields(spx_day):
    from rulesengine.check.checker import check_text
    from rulesengine.compile import compile_program
    from rulesengine.strategies.scan import scan

    text = (
        "strategy: t\nunderlying:\n  - expected_move > $10\nlegs:\n"
        "  short: put where dte between 30 and 60 and prob_touch <= 45% and bid > 0\n"
        "exit:\n  stop: pnl <= -$100\n"
    )
    program = check_text(text).program
    result = scan(program, compile_program(program), spx_day)
    touches = spx_day.column("prob_touch")[result.selection.rows["short"][result.order]]
    assert len(result) > 0 and (touches <= 0.45).all()
