"""`rules run`'s user errors: each a message saying what to do and an exit code, no traceback."""

from __future__ import annotations

from rulesengine.cli.main import main
from tests.conftest import RULES


def run(tmp_path, *extra: str) -> int:
    return main(["run", str(RULES), "--data-dir", str(tmp_path / "data"), *extra])


def test_broken_rules_print_lint_diagnostics_and_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("strategy: x\nlegs:\n  short: put where delta > -0.3\nentry:\n  - credt > 1\n")
    assert main(["run", str(bad), "--data-dir", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert "unknown name 'credt'" in err and "did you mean 'credit'?" in err


def test_no_rule_files(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["run", str(tmp_path / "empty")]) == 2
    assert "no rule files under" in capsys.readouterr().err


def test_unreadable_replay_source(tmp_path, capsys):
    assert run(tmp_path, "--replay", str(tmp_path / "nope.csv")) == 2
    assert "chain file not found" in capsys.readouterr().err


def test_synthetic_spec_outside_the_price_history(tmp_path, capsys):
    assert run(tmp_path, "--replay", "synthetic:2030-01-01:2030-02-01") == 2
    assert "the S&P 500 path runs 1999-01-04..2018-12-31" in capsys.readouterr().err


def test_bad_synthetic_spec(tmp_path, capsys):
    assert run(tmp_path, "--replay", "synthetic:soon") == 2
    assert "expected synthetic:START:END[:SEED]" in capsys.readouterr().err


def test_bad_time_of_day(tmp_path, capsys):
    assert run(tmp_path, "--at", "quarter to four") == 2
    assert "--at quarter to four: use HH:MM" in capsys.readouterr().err


def test_paper_has_no_live_market(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RULES_LIVE_TRADING", "yes")
    assert run(tmp_path, "--live") == 2
    assert "use --replay" in capsys.readouterr().err


def test_live_without_the_opt_in(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RULES_LIVE_TRADING", raising=False)
    assert run(tmp_path, "--broker", "alpaca", "--live") == 2
    assert "RULES_LIVE_TRADING=yes" in capsys.readouterr().err


def test_missing_credentials_name_the_variables(tmp_path, capsys, monkeypatch):
    for name in ("TASTYTRADE_CLIENT_SECRET", "TASTYTRADE_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert run(tmp_path, "--broker", "tastytrade") == 2
    assert "export TASTYTRADE_" in capsys.readouterr().err


def test_two_files_defining_one_strategy(tmp_path, capsys):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text((RULES / "bull_put_spread.yaml").read_text())
    assert main(["run", str(tmp_path), "--data-dir", str(tmp_path / "data")]) == 2
    assert "two files define strategy 'bull_put_spread'" in capsys.readouterr().err
