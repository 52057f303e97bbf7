"""`rules run`'s user errors: each a message saying what to do and an exit code, no traceback."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from rulesengine.cli.main import main
from rulesengine.engine.journal import Journal
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
    assert "expected synthetic:START:END[:SEED[:SYMBOL]]" in capsys.readouterr().err


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


def start_replay(tmp_path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "rulesengine.cli.main", "run", str(RULES), "--replay",
         "synthetic:2018-01-01:2018-06-30:7", "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def wait_for_a_day(proc: subprocess.Popen) -> None:
    for line in proc.stdout:
        if line.startswith("2018-"):
            return
    raise AssertionError("the replay printed no day")


@pytest.mark.slow
def test_first_ctrl_c_finishes_the_tick_prints_the_summary_and_says_how_to_resume(tmp_path):
    """Issue 12 #8: Ctrl-C was ignored until the replay ended."""
    proc = start_replay(tmp_path)
    wait_for_a_day(proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "summary:" in out
    assert "stopping after this tick" in err and "resume with `rules run" in err
    journal = Journal(tmp_path / "data" / "journal.sqlite")
    done = journal.get("replay_done")
    journal.close()
    assert done is not None and done < "2018-06-29"  # stopped early, on a finished tick


def test_second_ctrl_c_stops_at_once_and_the_run_resumes(tmp_path, capsys, monkeypatch):
    from rulesengine.cli import run as run_module

    real_replay = run_module.replay

    async def interrupted_twice(engine, source, broker, clock, **kwargs):
        await real_replay(engine, source, broker, clock, stop_after=1)
        signal.raise_signal(signal.SIGINT)  # the first: finish the tick...
        signal.raise_signal(signal.SIGINT)  # ...the second, before it did: stop now
        raise AssertionError("the second Ctrl-C did not stop the run")

    monkeypatch.setattr(run_module, "replay", interrupted_twice)
    assert run(tmp_path) == 130
    err = capsys.readouterr().err
    assert "stopped at once" in err and "resume with `rules run" in err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    monkeypatch.setattr(run_module, "replay", real_replay)
    assert run(tmp_path) == 0  # resumes from the journal
    assert "summary:" in capsys.readouterr().out
