"""End to end: `rules run` over the real SPX week with the example rules, its journal
snapshotted; and `kill -9` at random moments of the same replay never loses or doubles."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from rulesengine.cli.main import main
from rulesengine.engine.journal import Journal, canonical
from rulesengine.engine.session import JOURNAL_FILE
from tests.conftest import RULES


def replay_journal(data_dir) -> dict:
    journal = Journal(data_dir / JOURNAL_FILE)
    try:
        return canonical(journal)
    finally:
        journal.close()


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("week")
    assert main(["run", str(RULES), "--data-dir", str(data_dir)]) == 0
    return data_dir


def test_spx_week_replay_journal(week, snapshot):
    assert replay_journal(week) == snapshot


def test_spx_week_replay_trades_and_decides(week):
    journal = replay_journal(week)
    assert len({p["strategy"] for p in journal["positions"]}) >= 3
    assert any(p["status"] == "closed" for p in journal["positions"])
    assert {d["kind"] for d in journal["decisions"]} >= {"scan", "candidate", "exit", "closed"}
    keys = [o["key"] for o in journal["orders"]]
    assert len(keys) == len(set(keys))


def test_rerunning_a_finished_replay_changes_nothing(week):
    before = replay_journal(week)
    assert main(["run", str(RULES), "--data-dir", str(week)]) == 0
    assert replay_journal(week) == before


def test_status_positions_and_why_read_the_journal(week, capsys):
    assert main(["status", "--data-dir", str(week)]) == 0
    out = capsys.readouterr().out
    assert "last tick: 2011-01-07T15:45:00-05:00" in out and "locks: none active" in out
    journal = replay_journal(week)
    held = [p for p in journal["positions"] if p["status"] == "open"]
    closed = next(p for p in journal["positions"] if p["status"] == "closed")
    assert held and all(p["id"] in out for p in held)  # status lists the open positions
    assert closed["id"] not in out
    assert main(["status", "--all", "--data-dir", str(week)]) == 0
    assert closed["id"] in capsys.readouterr().out  # --all: the closed ones too
    assert main(["positions", "--all", "--data-dir", str(week)]) == 0
    assert closed["id"] in capsys.readouterr().out
    assert main(["why", closed["id"], "--data-dir", str(week)]) == 0
    out = capsys.readouterr().out
    assert "candidate: entered" in out and closed["exit_reason"].split(":")[0] in out
    assert main(["why", "p-nothing", "--data-dir", str(week)]) == 1


def test_commands_without_a_journal_say_how_to_start(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["status", "--data-dir", str(tmp_path / "none")]) == 2
    assert "start the engine with `rules run`" in capsys.readouterr().err
    (tmp_path / ".rules-data" / "demo").mkdir(parents=True)
    (tmp_path / ".rules-data" / "demo" / "journal.sqlite").write_bytes(b"")
    assert main(["status"]) == 2  # after `make run`, plain `rules status` finds no journal
    err = capsys.readouterr().err
    assert "journals here: --data-dir .rules-data/demo" in err


def _run(data_dir) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "rulesengine.cli.main", "run", str(RULES)]
    return subprocess.Popen(
        [*command, "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )


def test_kill_9_at_random_moments_loses_nothing_and_doubles_nothing(week, tmp_path):
    """Three runs killed at random moments of the replay (after a random number of replayed
    days, plus a random delay inside the next one), then a run to the end."""
    rng = random.Random(20111)
    data_dir = tmp_path / "killed"
    kills = 0
    for attempt in range(3):
        process = _run(data_dir)
        days = rng.randint(0, 2) if attempt == 0 else 0
        for line in process.stdout:
            if line.startswith("20") and (days := days - 1) < 0:
                break  # inside the replay, `days` days in
        time.sleep(rng.uniform(0.0, 0.4))
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += process.returncode == -signal.SIGKILL  # else it had already finished
    assert kills >= 1
    process = _run(data_dir)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "summary:" in out
    killed = replay_journal(data_dir)
    reference = replay_journal(week)
    for table in ("orders", "fills", "positions", "locks"):
        assert killed[table] == reference[table], table


def test_a_synthetic_market_of_several_stocks_moves_with_one_factor():
    from datetime import date

    import numpy as np

    from rulesengine.data.bars import load_bars
    from rulesengine.data.chain import to_seconds
    from rulesengine.engine.replay import open_replay

    source = open_replay("synthetic:2018-01-02:2018-01-05:0:SPY,AAPL")
    chain = source.chain
    assert set(chain.underlyings()) == {"SPY", "AAPL"}
    assert "SPY (S&P 500 returns x 1)" in source.label
    assert "AAPL (S&P 500 returns x 1.3)" in source.label
    sp500 = load_bars("arch:sp500")
    first = int(np.searchsorted(sp500.dates, to_seconds(date(2018, 1, 2))))
    spy = chain.bars["SPY"].close[first]
    assert spy == round(float(sp500.close[first]) / 10, 2)  # SPY: a tenth of the index
    days = chain.quote_dates()
    stamps = list(chain.columns["quote_date"])
    assert len(days) == 4 and stamps == sorted(stamps)
    # the surface's ATM level before the span (the VIX, x each stock's leverage) is its IV
    # history: a year of it on the first day, so iv_rank(252) reads at once
    history = chain.on(days[0]).iv_history
    vix = load_bars("arch:vix")
    aapl = history["AAPL"]
    assert len(aapl.close) >= 252
    day_before = aapl.dates[-2]  # the last session before the span
    at = int(np.searchsorted(vix.dates, day_before))
    assert aapl.close[-2] == pytest.approx(float(vix.close[at]) * 1.3 / 100)


def test_an_intraday_market_of_a_stock_draws_its_minutes_inside_its_own_daily_bar():
    from rulesengine.engine.replay import open_replay

    source = open_replay("synthetic-intraday:2018-03-05:2018-03-05:5m:0:AAPL")
    market = source.market
    assert market is not None and market.symbol == "AAPL"
    times = market.times(market.sessions[0])
    noon = market.snapshot(times[len(times) // 2])
    assert set(noon.underlyings()) == {"AAPL"}
    bar = market.daily
    day = list(bar.dates).index(noon.columns["quote_date"][0])
    price = float(noon.columns["underlying_price"][0])
    assert float(bar.low[day]) - 0.01 <= price <= float(bar.high[day]) + 0.01
    assert "AAPL" in source.label and "option prices" in source.label
