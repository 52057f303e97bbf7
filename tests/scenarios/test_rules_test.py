"""`rules test` end to end: scenarios through the engine, snapshots, explanations, exit codes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rulesengine.scenarios.coverage import coverage_of
from rulesengine.scenarios.model import ScenarioError, load_scenarios
from rulesengine.scenarios.render import explain, render, split_key
from rulesengine.scenarios.runner import run_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "rules"
SCENARIOS = """
scenarios:
  - name: condor_week
    rules: [iron_condor.yaml, risk.yaml]
    ticks: [2011-01-03, 2011-01-04]
  - name: condor_monday
    rules: [iron_condor.yaml]
    date: 2011-01-03
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    (rules / "tests").mkdir(parents=True)
    for name in ("iron_condor.yaml", "risk.yaml"):
        shutil.copy(EXAMPLES / name, rules / name)
    (rules / "tests" / "condor.yaml").write_text(textwrap.dedent(SCENARIOS))
    return rules


def rules_test(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rulesengine.cli.main", "test", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def raise_credit_floor(rules: Path) -> None:
    path = rules / "iron_condor.yaml"
    path.write_text(path.read_text().replace("credit >= $1.50", "credit >= $2.30"))


def test_a_changed_clause_is_explained_by_tick_strategy_and_clause(project):
    file = project / "tests" / "condor.yaml"
    scenario = load_scenarios(file)[0]
    before = render(run_scenario(scenario, file))
    raise_credit_floor(project)
    after = render(run_scenario(scenario, file))
    text = explain(before, after, "condor.yaml::condor_week")
    assert text.startswith("condor.yaml::condor_week: ")
    assert (
        "tick 2011-01-03 15:45 › iron_condor › scan › entry `credit >= $1.50`  ->  "
        "entry `credit >= $2.30`: 1 -> 0  (was: 1 -> 1)"
    ) in text
    assert "tick 2011-01-03 15:45 › iron_condor › scan: 0 candidates" in text
    assert "› candidate short_put P1185 / long_put P1175 / short_call C1330 / long_call C1340" in (
        text
    )
    assert explain(before, before, "x") == "x: the snapshot differs only in layout"


def test_split_key_keeps_colons_inside_clauses():
    assert split_key("entry `a: b >= 1`: 3 -> 2") == ("entry `a: b >= 1`", "3 -> 2")
    assert split_key("tick 2011-01-03 15:45") == ("tick 2011-01-03 15:45", "")


def test_coverage_flags_clauses_that_never_decided(project):
    file = project / "tests" / "condor.yaml"
    runs = [run_scenario(s, file) for s in load_scenarios(file)]
    coverage = coverage_of(runs)
    condor = next(f for f in coverage.files if f.endswith("iron_condor.yaml"))
    verdicts = {clause: verdict for clause, verdict, _ in coverage.undecisive(condor)}
    assert verdicts["entry `credit >= $1.50`"] == "never rejected"
    assert verdicts["exit stop_loss"] == "never held"  # judged on Tuesday, never fired
    assert "leg:short_put `dte between 30 and 60`" not in verdicts  # it rejected and passed
    risk = next(f for f in coverage.files if f.endswith("risk.yaml"))
    assert {v for _, v, _ in coverage.undecisive(risk)} == {"never held"}
    assert "clause coverage over 2 scenario(s)" in coverage.report()


def test_cli_snapshots_update_select_and_fail_with_an_explanation(project):
    cwd = project.parent
    first = rules_test("rules", cwd=cwd)
    assert first.returncode == 1
    assert (
        "no snapshot yet" in first.stdout and "rules test --update -k condor_week" in first.stdout
    )

    accepted = rules_test("rules", "--update", cwd=cwd)
    assert accepted.returncode == 0, accepted.stdout
    stored = project / "tests" / "__snapshots__" / "condor" / "condor_week.txt"
    assert stored.read_text().startswith("scenario: condor_week\n")
    assert rules_test("rules", cwd=cwd).returncode == 0

    raise_credit_floor(project)
    selected = rules_test("rules", "-k", "monday", cwd=cwd)
    assert selected.returncode == 1
    assert "condor.yaml::condor_monday: " in selected.stdout
    assert "entry `credit >= $2.30`: 1 -> 0  (was: 1 -> 1)" in selected.stdout
    assert "condor_week" not in selected.stdout.split("short test summary")[0]
    assert "Traceback" not in selected.stdout

    assert rules_test("rules", "--update", "-k", "monday", cwd=cwd).returncode == 0
    assert rules_test("rules", "-k", "monday", cwd=cwd).returncode == 0
    assert rules_test("rules", "-k", "nothing_matches", cwd=cwd).returncode == 5

    report = rules_test("rules", "-k", "monday", "--coverage", cwd=cwd)
    assert "rule clause coverage" in report.stdout
    assert "never rejected   entry `credit >= $2.30`" not in report.stdout  # it rejected


def test_cli_user_errors_are_messages_not_tracebacks(project, tmp_path):
    cwd = project.parent
    nothing = rules_test(str(tmp_path / "empty"), cwd=cwd)
    assert nothing.returncode == 5
    assert "no scenario files under" in nothing.stderr

    (project / "tests" / "broken.yaml").write_text("scenarios:\n  - name: x\n    tick: []\n")
    broken = rules_test("rules", cwd=cwd)
    assert broken.returncode != 0
    assert "scenario 'x': tick: Extra inputs are not permitted" in broken.stdout
    assert "Traceback" not in broken.stdout

    (project / "tests" / "broken.yaml").write_text(
        "scenarios:\n  - name: x\n    rules: [missing.yaml]\n"
    )
    missing = rules_test("rules", "-k", "x", cwd=cwd)
    assert missing.returncode == 1
    assert "no rule file" in missing.stdout and "missing.yaml" in missing.stdout
    assert "Traceback" not in missing.stdout


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        (
            "  - name: x\n    rules: [iron_condor.yaml]\n    date: 2011-01-08\n",
            "2011-01-08 is not a quote date of real SPX week",
        ),
        (
            "  - name: x\n    rules: [iron_condor.yaml]\n    date: 2011-01-03\n    positions:\n"
            "      - {strategy: iron_condor, price: 1, legs: {short: sell put 1201 2011-02-18}}\n",
            "position 1 (iron_condor): leg short: no put 1201 expiring 2011-02-18 in the market",
        ),
        (
            "  - name: x\n    market: nowhere.csv\n",
            "scenario 'x': market ",
        ),
    ],
)
def test_scenario_mistakes_found_when_running_say_what_to_fix(project, scenario, message):
    file = project / "tests" / "bad.yaml"
    file.write_text("scenarios:\n" + scenario)
    with pytest.raises(ScenarioError) as error:
        run_scenario(load_scenarios(file)[0], file)
    assert message in str(error.value) and str(file) in str(error.value)


def test_a_scenario_whose_rule_file_has_an_error_says_to_lint_it(project):
    """Issue 12 #10: this raised AttributeError ('CheckResult' has no 'display')."""
    broken = project / "iron_condor.yaml"
    broken.write_text(broken.read_text().replace("credit >= $1.50", "credit >= "))
    file = project / "tests" / "condor.yaml"
    with pytest.raises(ScenarioError) as error:
        run_scenario(load_scenarios(file)[0], file)
    assert "run `rules lint" in str(error.value) and "iron_condor.yaml" in str(error.value)


STRATEGY_DAY = """
scenarios:
  - name: seeded_gain
    rules: [bull_put_spread.yaml, watch.yaml]
    date: 2011-01-04
    positions:
      - strategy: bull_put_spread
        legs: {short: sell put 1200 2011-02-18, long: buy put 1195 2011-02-18}
        price: 1.00
"""


def test_a_seeded_positions_pnl_is_the_strategys_day_pnl_as_it_is_the_accounts(tmp_path):
    # the scenario starts at zero P&L for the account and for each strategy alike, so a
    # strategy's breaker and sizing see the day the account's breakers see
    rules = tmp_path / "rules"
    (rules / "tests").mkdir(parents=True)
    text = (EXAMPLES / "bull_put_spread.yaml").read_text()
    own_day = "  own_day: day_pnl != 0 -> alert\n"  # appended to the file's breakers
    assert text.rstrip().endswith("vix: vix > 40 -> block_entries")
    (rules / "bull_put_spread.yaml").write_text(text + own_day)
    (rules / "watch.yaml").write_text("portfolio: watch\nbreakers:\n  day: day_pnl != 0 -> alert\n")
    (rules / "tests" / "seeded.yaml").write_text(textwrap.dedent(STRATEGY_DAY))
    (scenario,) = load_scenarios(rules / "tests" / "seeded.yaml")
    out = render(run_scenario(scenario, rules / "tests" / "seeded.yaml"))
    strategy = next(line for line in out.splitlines() if "own_day: alert" in line)
    account = next(line for line in out.splitlines() if "portfolio.day: alert" in line)
    assert strategy.split("(day_pnl = ")[1] == account.split("(day_pnl = ")[1]
