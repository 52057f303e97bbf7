"""Daily bars from arch's files, the bundled bokeh prices, and CSV paths."""

from datetime import date

import numpy as np
import pytest

from rulesengine.data.bars import BarsError, load_bars
from rulesengine.data.chain import to_seconds

pytest.importorskip("arch")


def test_arch_sp500_agrees_with_the_spx_chain(spx):
    bars = load_bars("arch:sp500")
    assert len(bars.dates) == 5031
    for day in spx.quote_dates():
        close = bars.close[np.searchsorted(bars.dates, to_seconds(day))]
        chain_close = spx.on(day).column("underlying_price")[0]
        assert close == pytest.approx(chain_close, abs=0.01)  # two real sources, one index


def test_vix_holidays_are_nan_and_bokeh_tickers_load():
    vix = load_bars("arch:vix")
    assert len(vix.dates) == 1305 and np.isnan(vix.close).sum() == 46
    aapl = load_bars("bokeh:AAPL")
    assert len(aapl.dates) == 3270 and aapl.dates[0] == to_seconds(date(2000, 3, 1))
    assert (aapl.high >= aapl.low).all()


def test_csv_paths_and_errors(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Volume\n2024-01-03,2,3,1,2.5,10\n2024-01-02,1,2,1,1.5,5\n"
    )
    bars = load_bars(str(path))
    assert bars.close.tolist() == [1.5, 2.5]  # sorted oldest first
    with pytest.raises(BarsError, match="arch:NAME"):
        load_bars("nowhere.csv")
    with pytest.raises(BarsError, match="unknown arch data set"):
        load_bars("arch:dax")
    with pytest.raises(BarsError, match="AAPL"):
        load_bars("bokeh:TSLA")
    broken = tmp_path / "broken.csv"
    broken.write_text("When,Price\n2024-01-02,1\n")
    with pytest.raises(BarsError, match="expected columns"):
        load_bars(str(broken))
