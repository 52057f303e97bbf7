"""`rules backtest`: parity with `rules run`, reports, sweeps and user errors."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from rulesengine.backtest.runners import LocalRunner
from rulesengine.backtest.selection import rank
from rulesengine.backtest.sweep import (
    Job,
    SweepError,
    backtest_job,
    parse_axis,
    variants,
)
from rulesengine.cli.main import main
from rulesengine.engine.journal import Journal, canonical
from tests.equity import assert_every_day_reconciles

RULES = Path(__file__).resolve().parents[2] / "rules"


def journal_of(path: Path) -> dict:
    journal = Journal(path / "journal.sqlite")
    try:
        return canonical(journal)
    finally:
        journal.close()


def test_a_backtest_and_a_replayed_run_write_the_same_journal(tmp_path, capsys):
    assert main(["run", str(RULES), "--replay", "spx", "--data-dir", str(tmp_path / "run")]) == 0
    assert main(["backtest", str(RULES), "--data", "spx", "--out", str(tmp_path / "bt")]) == 0
    ran, tested = journal_of(tmp_path / "run"), journal_of(tmp_path / "bt")
    assert ran["orders"] and ran["positions"] and ran["decisions"]
    assert tested == ran


def test_report_files_tables_and_pictures(tmp_path, capsys):
    out = tmp_path / "bt"
    code = main(
        ["backtest", str(RULES / "iron_condor.yaml"), str(RULES / "risk.yaml"), "--out", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "backtest: real SPX week" in printed and "profit factor" in printed
    assert "warning: 5 days is too short a sample" in printed
    assert "why so few trades" in printed and "already held as an open position" in printed
    for name in ("equity.png", "pnl_by_strategy.png", "trades.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with (out / "trades.csv").open() as handle:
        trades = list(csv.DictReader(handle))
    closed = trades[0]
    assert closed["status"] == "closed" and closed["structure"].startswith("short_put P1185")
    assert "stop_loss: pnl <= -1 * max_profit" in closed["exit"]
    gross = (float(closed["entry_price"]) + float(closed["exit_price"])) * 100
    assert float(closed["pnl"]) == pytest.approx(gross * int(closed["quantity"]) - float(
        closed["fees"]), abs=0.01)  # fmt: skip
    still_open = [t for t in trades if t["status"] == "open"]
    assert still_open and all(t["closed"] == "" and t["pnl"] for t in still_open)
    with (out / "equity.csv").open() as handle:
        days = list(csv.DictReader(handle))
    assert len(days) == 5
    for day in days:  # net liq is starting cash + realised + unrealised, to the cent
        parts = 100_000 + float(day["realised_pnl"]) + float(day["unrealised_pnl"])
        assert float(day["net_liq"]) == pytest.approx(parts, abs=0.01)
    total = sum(float(t["pnl"]) for t in trades)  # closed P&L plus open marks
    assert total == pytest.approx(float(days[-1]["net_liq"]) - 100_000, abs=0.01)
    page = (out / "report.html").read_text()
    assert "<td>$-480.32</td>" in page and 'src="equity.png"' in page
    assert "model-generated" not in page
    assert "Why so few trades" in page and "5 days is too short a sample" in page


def test_synthetic_reports_say_prices_are_model_generated(tmp_path, capsys):
    out = tmp_path / "bt"
    args = ["backtest", str(RULES / "bear_call_spread.yaml"), "--data", "synthetic"]
    args += ["--from", "2018-01-02", "--to", "2018-01-19", "--seed", "3", "--out", str(out)]
    assert main(args) == 0
    assert "OPTION PRICES ARE MODEL-GENERATED" in " ".join(capsys.readouterr().out.split())
    assert "<b>model-generated</b>" in (out / "report.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "nowhere.csv"], "nowhere.csv"),
        (["--from", "2011-13-01"], "dates are YYYY-MM-DD"),
        (["--from", "2012-01-01"], "no quote dates between 2012-01-01"),
        (["--vary", "short.delta"], "expected NAME=A..B:STEP"),
        (["--vary", "short.delta=-0.3..-0.2:0.05"], "several strategies have it"),
        (["--vary", "nothing=1,2"], "nothing in the rules to vary"),
    ],
)
def test_user_errors_exit_2_with_a_message(tmp_path, capsys, args, message):
    assert main(["backtest", str(RULES), "--out", str(tmp_path / "x"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rules backtest: ") and message in err


def test_axis_values_and_leg_targets():
    assert parse_axis("short.delta=-0.30..-0.15:0.05").values == (-0.3, -0.25, -0.2, -0.15)
    assert parse_axis("x=1,2.5").values == (1.0, 2.5)
    with pytest.raises(SweepError, match="positive STEP"):
        parse_axis("x=1..0:1")
    grid = variants([str(RULES / "bull_put_spread.yaml")], [parse_axis("short.delta=-0.15")])
    ((label, texts),) = grid
    text = texts["bull_put_spread.yaml"]
    assert label == "short.delta=-0.15"
    assert "delta between -0.2 and -0.1" in text and "prefer delta nearest -0.15" in text
    assert "dte between 30 and 60" in text  # other clauses untouched


def test_lets_and_a_grid_of_two_axes():
    axes = [parse_axis("spread_pct=0.1,0.2"), parse_axis("bull_put_spread.short.delta=-0.2,-0.3")]
    grid = variants([str(RULES)], axes)
    assert [label for label, _ in grid] == [
        "spread_pct=0.1, bull_put_spread.short.delta=-0.2",
        "spread_pct=0.1, bull_put_spread.short.delta=-0.3",
        "spread_pct=0.2, bull_put_spread.short.delta=-0.2",
        "spread_pct=0.2, bull_put_spread.short.delta=-0.3",
    ]
    assert "  spread_pct: 0.2\n" in grid[2][1]["bull_put_spread.yaml"]


def test_rank_puts_missing_values_then_failures_last_whichever_the_direction():
    results = [
        {"label": "a", "sharpe": 1.0, "max_drawdown": 0.2},
        {"label": "b", "sharpe": float("nan"), "max_drawdown": 0.1},
        {"label": "c", "sharpe": 2.0, "max_drawdown": 0.3},
        {"label": "d", "error": "broken"},
        {"label": "e", "sharpe": 0.5, "max_drawdown": float("nan")},
    ]
    assert [r["label"] for r in rank(results, "sharpe")] == ["c", "a", "e", "b", "d"]
    assert [r["label"] for r in rank(results, "max_drawdown")] == ["b", "a", "c", "e", "d"]


def test_a_variant_that_does_not_check_is_reported_not_raised():
    text = (RULES / "bull_put_spread.yaml").read_text().replace("credit >= $0.30", "credit >= ")
    job = Job("broken", (("bull_put_spread.yaml", text),), "spx", None, None)
    result = backtest_job(job)
    assert result["label"] == "broken" and "rule file(s) with errors" in result["error"]


def test_broken_rules_exit_1_with_lint_diagnostics(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (RULES / "bull_put_spread.yaml").read_text().replace("credit >= $0.30", "credt >= $0.30")
    )
    assert main(["backtest", str(bad), "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "credt" in err and "Traceback" not in err


def test_local_runner_runs_variants_in_processes_like_a_plain_backtest(tmp_path, capsys):
    files = [str(RULES / "bull_put_spread.yaml")]
    grid = variants(files, [parse_axis("short.delta=-0.25,-0.2")])
    jobs = [Job(label, tuple(sorted(t.items())), "spx", None, None) for label, t in grid]
    finished = {r["label"]: r for r in LocalRunner(2).map(backtest_job, jobs)}  # as they finish
    results = [finished["short.delta=-0.25"], finished["short.delta=-0.2"]]
    assert main(["backtest", *files, "--out", str(tmp_path / "plain")]) == 0
    plain = (tmp_path / "plain" / "metrics.csv").read_text().splitlines()
    total_return = float(next(r for r in plain if r.startswith("total_return,")).split(",")[1])
    assert math.isclose(results[0]["total_return"], total_return)  # unchanged variant = baseline
    assert results[0] != results[1]  # a different target delta trades differently


@pytest.mark.slow
def test_the_wheel_goes_round_on_a_synthetic_year_and_reconciles_to_the_cent(tmp_path, capsys):
    out = tmp_path / "wheel"
    spec = "synthetic:2016-01-01:2016-12-31:0:XYZ"
    pack = str(RULES / "packs" / "wheel")
    assert main(["backtest", pack, "--data", spec, "--out", str(out)]) == 0
    with (out / "trades.csv").open() as handle:
        trades = list(csv.DictReader(handle))
    call = next(t for t in trades if t["strategy"] == "wheel_call")
    shares = next(t for t in trades if t["structure"] == "assigned +100 shares")
    assert call["opened"] == shares["opened"]  # sold in the tick that booked the assignment
    assert call["exit"] == "expired" and shares["exit"] == "called away at 97.5"
    assert shares["closed"] == call["closed"]
    assert float(shares["pnl"]) == pytest.approx((104.82 - 88.51) * 100, abs=0.005)
    days = assert_every_day_reconciles(out, 25_000)  # the account against the journal
    total = sum(float(t["pnl"]) for t in trades)
    assert total == pytest.approx(float(days[-1]["net_liq"]) - 25_000, abs=0.01)


def test_shares_long_and_short_reconcile_with_the_account(tmp_path, capsys):
    """The EMA pack on shares alone: long on Reg-T margin, short with 150% set aside."""
    out = tmp_path / "shares"
    pack = str(RULES / "packs" / "ema_shares")
    spec = "synthetic:2016-01-01:2016-06-30:0:XYZ"
    assert main(["backtest", pack, "--data", spec, "--out", str(out)]) == 0
    with (out / "trades.csv").open() as handle:
        trades = list(csv.DictReader(handle))
    sides = {t["structure"] for t in trades}
    assert {"long +100 shares", "short -100 shares"} <= sides
    assert_every_day_reconciles(out, 50_000)
