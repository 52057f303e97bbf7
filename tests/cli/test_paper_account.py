"""Issue 16: the paper account's cash, option level and type are settings (flags or a
portfolio file's `paper:` block), recorded in the journal and kept by the account."""

from __future__ import annotations

import json
import shutil

import pytest

from rulesengine.check.checker import check_text
from rulesengine.cli.main import main
from rulesengine.engine.journal import Journal
from rulesengine.engine.ruleset import RulesError, load_rules
from tests.conftest import RULES


def rules_with(tmp_path, paper: str):
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder, ignore=shutil.ignore_patterns("tests"))
    risk = folder / "risk.yaml"
    risk.write_text(risk.read_text() + paper)
    return folder


def run(folder, data, *extra) -> int:
    return main(["run", str(folder), "--replay", "spx", "--data-dir", str(data), *extra])


def test_a_portfolio_files_paper_block_opens_the_account(tmp_path, capsys):
    folder = rules_with(tmp_path, "paper:\n  cash: 250000\n  option_level: 2\n")
    assert load_rules([folder]).paper.option_level == 2
    assert run(folder, tmp_path / "d", "--fresh") == 0
    out = capsys.readouterr().out
    assert "$250,000 cash account, option level 2" in " ".join(out.split())
    assert "summary: 0 trades entered" in out  # every example strategy trades spreads
    journal = Journal(tmp_path / "d" / "journal.sqlite")
    assert json.loads(journal.get("paper_settings")) == {
        "cash": "250000.00",
        "option_level": 2,
        "margin": "cash",
    }
    reasons = [r["reason"] for r in journal.db.execute("SELECT reason FROM decisions")]
    assert any("option level 2 does not allow spreads" in r for r in reasons)


def test_flags_override_the_file_and_an_existing_account_is_never_silently_changed(
    tmp_path, capsys
):
    folder = rules_with(tmp_path, "paper:\n  cash: 250000\n")
    assert run(folder, tmp_path / "d", "--fresh", "--cash", "$300,000") == 0
    assert "$300,000 cash account" in " ".join(capsys.readouterr().out.split())
    assert run(folder, tmp_path / "d", "--cash", "100000") == 2
    err = capsys.readouterr().err
    assert "was opened as a $300,000 cash account" in err and "add --fresh" in err
    assert run(folder, tmp_path / "d", "--option-level", "4") == 2
    assert "option level 4 (uncovered options) needs a margin account" in capsys.readouterr().err


def test_a_backtest_starts_from_the_cash_asked_for(tmp_path, capsys):
    out = tmp_path / "bt"
    assert main(["backtest", str(RULES), "--out", str(out), "--cash", "250000"]) == 0
    equity = (out / "equity.csv").read_text().splitlines()
    first_day = float(equity[1].split(",")[1])  # net liq after the first day's trades
    assert 245_000 < first_day < 255_000
    settings = json.loads(Journal(out / "journal.sqlite").get("paper_settings"))
    assert settings["cash"] == "250000.00"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("strategy: s\nlegs:\n  short: put where delta > -0.3\npaper:\n  cash: 5000\n",
         "set in a portfolio file, not a strategy"),
        ("portfolio: p\npaper:\n  option_level: 4\n", "needs a margin account"),
        ("portfolio: p\npaper:\n  cash: -5\n", "greater than 0"),
    ],
)  # fmt: skip
def test_impossible_paper_blocks_are_lint_errors(text, says):
    result = check_text(text)
    assert any(says in d.message for d in result.errors), result.diagnostics


def test_two_files_disagreeing_on_the_account_are_refused(tmp_path):
    folder = rules_with(tmp_path, "paper:\n  cash: 250000\n")
    (folder / "other.yaml").write_text("portfolio: other\npaper:\n  cash: 50000\n")
    with pytest.raises(RulesError, match="two files set the paper account differently"):
        load_rules([folder])


def test_a_cash_flag_that_is_not_a_number_is_a_usage_error(tmp_path, capsys):
    assert run(RULES, tmp_path / "d", "--fresh", "--cash", "lots") == 2
    assert "--cash lots: write a number, e.g. 250000" in capsys.readouterr().err
