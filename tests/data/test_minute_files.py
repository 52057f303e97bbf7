"""Minute-bar files in the common shapes, and recorded intraday chain files, on fixtures the
tests write."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time

import numpy as np
import pytest

from rulesengine.check.timeframes import parse_timeframe
from rulesengine.data.chain import COLUMNS
from rulesengine.data.intraday import NEW_YORK, MinuteBars
from rulesengine.data.minute_files import (
    MinuteFileError,
    load_bar_sources,
    load_minutes,
    load_trades,
    looks_intraday,
)
from rulesengine.data.normalised import save
from rulesengine.engine.replay import ReplayError, open_replay

DAY = date(2018, 1, 23)
GENERIC = ("open", "high", "low", "close", "volume")


def write_generic(bars: dict[str, MinuteBars], handle) -> None:
    """Minute bars in the generic shape (a timestamp with its offset, symbol, OHLCV)."""
    writer = csv.writer(handle)
    writer.writerow(["timestamp", "symbol", *GENERIC])
    for name, minutes in bars.items():
        for i in range(len(minutes)):
            when = datetime.fromtimestamp(float(minutes.start[i]), NEW_YORK).isoformat()
            writer.writerow([when, name, *(float(getattr(minutes, f)[i]) for f in GENERIC)])


OPEN = datetime.combine(DAY, time(9, 30), NEW_YORK).timestamp()


def sample(count: int = 30) -> MinuteBars:
    close = 2800.0 + np.arange(count) * 0.25
    return MinuteBars(
        OPEN + 60.0 * np.arange(count), close - 0.25, close + 0.5, close - 0.5, close,
        np.full(count, 1000.0),
    )  # fmt: skip


def same(found: MinuteBars, expected: MinuteBars) -> None:
    np.testing.assert_allclose(found.start, expected.start)
    for name in ("open", "high", "low", "close", "volume"):
        np.testing.assert_allclose(getattr(found, name), getattr(expected, name), rtol=1e-12)


def test_generic_csv_with_offsets_and_new_york_times(tmp_path):
    bars = sample()
    path = tmp_path / "spx.csv"
    with open(path, "w", encoding="utf-8") as handle:
        write_generic({"SPX": bars}, handle)
    assert looks_intraday(path)
    same(load_minutes(path)["SPX"], bars)
    naive = tmp_path / "naive.csv"
    lines = ["Timestamp,Open,High,Low,Close,Volume"] + [
        f"2018-01-23 09:{30 + i}:00,{bars.open[i]},{bars.high[i]},{bars.low[i]},"
        f"{bars.close[i]},{bars.volume[i]}"
        for i in range(len(bars))
    ]
    naive.write_text("\n".join(lines) + "\n")
    same(load_minutes(naive, "SPX")["SPX"], bars)  # no offset: New York time


def test_databento_ohlcv_1m_fixed_point_and_pretty(tmp_path):
    bars = sample()
    header = "ts_event,rtype,publisher_id,instrument_id,open,high,low,close,volume,symbol"
    prices = ("open", "high", "low", "close")
    raw = [header] + [
        f"{int(bars.start[i]) * 10**9},33,1,5002,"
        + ",".join(str(round(getattr(bars, f)[i] * 1e9)) for f in prices)
        + f",{int(bars.volume[i])},ESH8"
        for i in range(len(bars))
    ]
    (tmp_path / "raw.csv").write_text("\n".join(raw) + "\n")
    same(load_minutes(tmp_path / "raw.csv")["ESH8"], bars)
    pretty = [header] + [
        datetime.fromtimestamp(bars.start[i], UTC).strftime("%Y-%m-%dT%H:%M:%S.000000000Z")
        + f",33,1,5002,{bars.open[i]},{bars.high[i]},{bars.low[i]},"
        f"{bars.close[i]},{int(bars.volume[i])},ESH8"
        for i in range(len(bars))
    ]  # fmt: skip
    (tmp_path / "pretty.csv").write_text("\n".join(pretty) + "\n")
    same(load_minutes(tmp_path / "pretty.csv")["ESH8"], bars)


def test_polygon_aggregates_json_and_csv(tmp_path):
    bars = sample()
    results = [
        {"v": bars.volume[i], "vw": bars.close[i], "o": bars.open[i], "c": bars.close[i],
         "h": bars.high[i], "l": bars.low[i], "t": int(bars.start[i] * 1000), "n": 12}
        for i in range(len(bars))
    ]  # fmt: skip
    (tmp_path / "agg.json").write_text(json.dumps({"ticker": "SPY", "results": results}))
    same(load_minutes(tmp_path / "agg.json")["SPY"], bars)
    rows = ["ticker,v,vw,o,c,h,l,t,n"] + [
        f"SPY,{r['v']},{r['vw']},{r['o']},{r['c']},{r['h']},{r['l']},{r['t']},{r['n']}"
        for r in results
    ]
    (tmp_path / "agg.csv").write_text("\n".join(rows) + "\n")
    same(load_minutes(tmp_path / "agg.csv")["SPY"], bars)


def test_bad_rows_are_named_and_too_many_refuse_the_file(tmp_path):
    bars = sample(300)
    buffer = io.StringIO()
    write_generic({"SPX": bars}, buffer)
    lines = buffer.getvalue().splitlines()
    lines[5] = lines[5].replace("2018", "20x8")
    (tmp_path / "one.csv").write_text("\n".join(lines) + "\n")
    assert len(load_minutes(tmp_path / "one.csv")["SPX"]) == 299  # 1 in 300: skipped
    for i in range(6, 12):
        lines[i] = lines[i].split(",")[0] + ",SPX,oops,1,1,1,1"
    (tmp_path / "many.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(MinuteFileError, match=r"many\.csv:\d+: .*more than 1%|more than 1%"):
        load_minutes(tmp_path / "many.csv")
    (tmp_path / "daily.csv").write_text("Date,Open,High,Low,Close\n2018-01-02,1,2,0.5,1.5\n")
    assert not looks_intraday(tmp_path / "daily.csv")
    with pytest.raises(MinuteFileError, match="names no symbol"):
        (tmp_path / "anon.csv").write_text(
            "timestamp,open,high,low,close,volume\n2018-01-23T09:30:00-05:00,1,2,0.5,1.5,10\n"
        )
        load_minutes(tmp_path / "anon.csv")


def test_a_recorded_intraday_chain_file_replays_each_quote_time(tmp_path):
    source = open_replay("synthetic-intraday:2018-01-23:2018-01-23:5m")
    times = source.times()[20:23]
    snapshots = [source.snapshot(t) for t in times]
    for snapshot, when in zip(snapshots, times, strict=True):
        snapshot.columns["quote_time"] = np.full(len(snapshot), when.timestamp())
    merged = {
        name: np.concatenate([s.columns[name] for s in snapshots])
        for name in (*COLUMNS, "quote_time")
    }
    chain = snapshots[0].take(np.arange(0))
    chain.columns = merged
    path = tmp_path / "intraday.csv"
    save(chain, path)
    minutes = tmp_path / "minutes.csv"
    with open(minutes, "w", encoding="utf-8") as handle:
        write_generic({"SPX": source.market.store.minutes["SPX"]}, handle)
    replay = open_replay(str(path), {"SPX": str(minutes)})
    assert replay.intraday and replay.times() == times
    assert replay.interval_s == 300.0
    snapshot = replay.snapshot(times[1])
    assert len(snapshot) == len(snapshots[1])
    five = snapshot.intraday.bars("SPX", parse_timeframe("5m"))
    expected = source.snapshot(times[1]).intraday.bars("SPX", parse_timeframe("5m"))
    np.testing.assert_allclose(five.close, expected.close)
    with pytest.raises(ReplayError, match="no minute bars of VIX"):
        (tmp_path / "two.csv").write_text(
            "timestamp,symbol,open,high,low,close,volume\n"
            "2018-01-23T09:30:00-05:00,A,1,2,0.5,1.5,10\n"
            "2018-01-23T09:30:00-05:00,B,1,2,0.5,1.5,10\n"
        )
        open_replay(str(path), {"VIX": str(tmp_path / "two.csv")})


def test_trade_streams_give_tick_bars(tmp_path):
    lines = ["ts_event,rtype,publisher_id,instrument_id,action,side,price,size,symbol"]
    for i in range(1030):  # two full 512-trade bars and 6 trades of a third
        ns = (int(OPEN) + i) * 10**9
        lines.append(f"{ns},0,1,5002,T,A,{(4000 + i * 0.25) * 1e9:.0f},2,ESH8")
    (tmp_path / "trades.csv").write_text("\n".join(lines) + "\n")
    daily, store = load_bar_sources({"/ES": str(tmp_path / "trades.csv")})
    assert not daily and "/ES" in store.trades
    later = datetime.fromtimestamp(OPEN + 2000, NEW_YORK)
    bars = store.at(later).bars("/ES", parse_timeframe("512t"))
    assert bars is not None and len(bars.dates) == 2
    assert bars.open[0] == pytest.approx(4000.0) and bars.close[0] == pytest.approx(4127.75)
    assert bars.volume.tolist() == [1024.0, 1024.0]
    generic = tmp_path / "prints.csv"
    generic.write_text("timestamp,price,size\n2018-01-23T09:30:00-05:00,10,1\n")
    assert load_trades(generic, "X")["X"].price.tolist() == [10.0]
