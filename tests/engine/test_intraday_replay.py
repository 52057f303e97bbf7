"""Intraday replays through the real engine: schedules fire at their real times, the clock
reads `minutes_to_close` through the session, and `rules run` / `rules backtest` say what an
indicator could not read."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, time
from pathlib import Path

import pytest

from rulesengine.analytics import indicators as ind
from rulesengine.check.timeframes import parse_timeframe
from rulesengine.cli.main import main
from rulesengine.compile import compile_program
from rulesengine.engine.clock import NEW_YORK
from rulesengine.engine.replay import open_replay, replay
from rulesengine.engine.ruleset import load_rules
from rulesengine.engine.session import open_paper_session
from rulesengine.runtime.evaluate import Evaluator
from rulesengine.runtime.view import View
from rulesengine.strategies.scan import scan
from tests.conftest import ROOT, checked

ZERO_DTE = (ROOT / "rules" / "spx_0dte_ema.yaml").read_text()


def run_intraday(tmp_path: Path, text: str, spec: str) -> sqlite3.Connection:
    path = tmp_path / "rules" / "strategy.yaml"
    path.parent.mkdir()
    path.write_text(text)
    source = open_replay(spec)
    rules = load_rules([path])
    session = open_paper_session(rules, tmp_path / "data", source.times()[0], say=lambda m: None)
    asyncio.run(replay(session.engine, source, session.broker, session.clock))
    session.journal.close()
    db = sqlite3.connect(tmp_path / "data" / "journal.sqlite")
    db.row_factory = sqlite3.Row
    return db


def local(at: str) -> datetime:
    return datetime.fromisoformat(at).astimezone(NEW_YORK)


def test_schedules_fire_at_their_real_times_and_before_close_exits_at_1545(tmp_path):
    # any credit enters; only the time exit may close: `minutes_to_close <= 15`
    text = ZERO_DTE.replace("  - credit >= $0.20\n  - pop >= 80%\n", "  - credit > 0\n")
    text = text.replace("  take_profit: pnl >= 50% of max_profit\n", "")
    text = text.replace("  stop_loss: pnl <= -2 * entry_credit\n", "")
    text = text.replace(
        "  max_contracts: 10\n", "  max_contracts: 10\nlimits:\n  max_positions: 1\n"
    )
    text = text.replace("before_close: minutes_to_close <= 15", "stop_loss: minutes_to_close <= 15")
    db = run_intraday(tmp_path, text, "synthetic-intraday:2018-01-03:2018-01-03:5m")
    scans = [local(r["at"]) for r in db.execute("SELECT at FROM decisions WHERE kind='scan'")]
    assert scans, "the scan schedule never fired"
    assert min(scans).time() == time(10, 0) and max(scans).time() <= time(14, 0)
    assert all(t.minute % 5 == 0 for t in scans)  # every 5m between 10:00 and 14:00
    exits = [local(r["at"]) for r in db.execute("SELECT at FROM decisions WHERE kind='exit'")]
    assert [t.time() for t in exits] == [time(15, 45)]  # 15 minutes before the 16:00 close
    closed = db.execute("SELECT status, closed_at FROM positions").fetchall()
    assert [r["status"] for r in closed] == ["closed"]
    assert local(closed[0]["closed_at"]).date() == exits[0].date()  # in and out the same day


def test_run_says_once_what_an_indicator_cannot_read(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = main(
        ["run", "rules/spx_ema_cross_5m.yaml", "--at", "14:00", "--data-dir", str(tmp_path),
         "--fresh"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0
    line = "rules run: spx_ema_cross_5m: crosses_above(ema(close, 9), ema(close, 21), 5m) needs"
    assert err.count(line) == 1  # five daily snapshots, said once
    assert "this data has no intraday bars" in err and "match nothing" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--feed", "polygon"], "the built-in feed is `synthetic`"),
        (["--feed", "synthetic", "--speed", "0"], "use a positive number"),
        (
            ["--replay", "synthetic-intraday:2018-01-02:2018-01-05:7s"],
            "expected synthetic-intraday",
        ),
        (["--replay", "synthetic-intraday:2030-01-02:2030-01-05"], "the S&P 500 path runs"),
    ],
)
def test_feed_and_intraday_replay_mistakes_are_clear(capsys, tmp_path, argv, message):
    code = main(
        ["run", str(ROOT / "rules" / "spx_0dte_ema.yaml"), *argv, "--data-dir", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_rules_read_every_kind_of_bar_on_an_intraday_snapshot():
    """Minute-based, daily and tick bars in one rule, through the checker, compiler and
    runtime, against the values computed directly from the market's bars."""
    text = (
        "strategy: t\nbars: 5m\nuniverse: [SPX]\nunderlying:\n"
        "  - ema(close, 9) > 0\n  - sma(close, 50, 1d) > 0\n  - ema(close, 9, 512t) > 0\n"
        "  - rsi(14, 15m) between 0 and 100\n"
        "legs:\n  short: put where delta > -0.3\nexit:\n  stop_loss: pnl <= -2 * entry_credit\n"
    )
    result = checked(text)
    assert not result.errors, result.diagnostics
    source = open_replay("synthetic-intraday:2018-01-23:2018-01-23:5m")
    chain = source.snapshot(datetime(2018, 1, 23, 12, 0, tzinfo=NEW_YORK))
    found = scan(result.program, compile_program(result.program), chain)
    assert not found.missing
    underlying = [f for f in found.funnel if f.stage == "underlying"]
    assert [(f.rows_in, f.rows_out) for f in underlying] == [(1, 1)] * 4
    five = chain.intraday.bars("SPX", parse_timeframe("5m"))
    assert five is not None
    view = View.whole_chain(chain)
    value = Evaluator(compile_program(result.program), view)
    node = next(i for i, n in enumerate(value.graph.nodes) if n.op == "series")
    assert float(value.value(node)[0]) == pytest.approx(ind.ema(five.close, 9)[-1])


def test_previous_bars_lets_and_a_files_own_close():
    """`close[1]` is `prev(close, 1)`; a let holding an indicator stands for the series; in a
    `bars: 5m` file a bare `close` is the last 5-minute bar's, like `close[1]` is."""
    text = (
        "strategy: t\nbars: 5m\nuniverse: [SPX]\nlet:\n  fast: ema(close, 9)\n"
        "  slow: ema(close, 21)\nunderlying:\n  - crosses_above(fast, slow) or fast > 0\n"
        "  - close[1] > 0\n  - close > 0\nlegs:\n  short: put where delta > -0.3\n"
        "exit:\n  stop_loss: pnl <= -2 * entry_credit\n  flip: crosses_below(fast, slow)\n"
    )
    result = checked(text)
    assert not result.errors, result.diagnostics
    assert not [d for d in result.diagnostics if d.code == "W305"]  # the lets count as used
    graph = compile_program(result.program)
    source = open_replay("synthetic-intraday:2018-01-23:2018-01-23:5m")
    chain = source.snapshot(datetime(2018, 1, 23, 12, 0, tzinfo=NEW_YORK))
    five = chain.intraday.bars("SPX", parse_timeframe("5m"))
    evaluator = Evaluator(graph, View.whole_chain(chain))
    values = {
        graph.render(i): float(evaluator.value(i)[0])
        for i, n in enumerate(graph.nodes)
        if n.op == "series"
    }
    assert values["prev(close, 1, 5m)"] == pytest.approx(five.close[-2])
    assert values["close"] == pytest.approx(five.close[-1])
    assert "crosses_below(ema(close, 9), ema(close, 21), 5m)" in values
    assert checked(text.replace("close[1]", "close[0]")).errors  # no bar zero bars ago


def test_a_timeframe_literal_alone_is_no_value():
    text = "strategy: t\nentry:\n  - credit > 512t\nlegs:\n  short: put\n"
    assert [d.code for d in checked(text).errors] == ["E111"]


def test_a_crossing_without_enough_history_says_so():
    text = (
        "strategy: t\nbars: 5m\nunderlying:\n  - crosses_above(ema(close, 400), ema(close, 21))\n"
        "legs:\n  short: put where delta > -0.3\nexit:\n  stop_loss: pnl <= -2 * entry_credit\n"
    )
    result = checked(text)
    source = open_replay("synthetic-intraday:2018-01-23:2018-01-23:5m")
    chain = source.snapshot(datetime(2018, 1, 23, 9, 45, tzinfo=NEW_YORK))
    found = scan(result.program, compile_program(result.program), chain)
    assert len(found) == 0
    # 5 warm-up sessions of 78 bars, and 09:30-09:45
    assert any("needs 401+ 5m bars of SPX, has 393" in m for m in found.missing), found.missing
