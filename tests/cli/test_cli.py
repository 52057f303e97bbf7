"""The `rules` command: exit codes, formats, and no tracebacks for user errors."""

import json

import pytest

from rulesengine.cli.main import main
from tests.conftest import ROOT

BROKEN = "strategy: t\nlegs:\n  short: put where delat > -0.3\nexit:\n  s: pnl <= -$1\n"


@pytest.fixture(autouse=True)
def at_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code != 3, err  # 3 is an internal error: never for user input
    return code, out, err


def test_lint_clean_examples_exit_zero(capsys):
    code, out, _ = run(capsys, "lint", "rules/")
    assert code == 0 and "8 files checked: no problems" in out


def test_lint_errors_exit_one_with_compiler_messages(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BROKEN)
    code, out, _ = run(capsys, "lint", str(bad))
    assert code == 1
    assert "bad.yaml:3:20: error[E102]: unknown name 'delat'" in out
    assert "help: did you mean 'delta'?" in out


def test_warnings_fail_only_with_strict(capsys, tmp_path):
    warned = tmp_path / "w.yaml"
    warned.write_text("strategy: t\nlegs:\n  short: put where delta > -0.3\n")
    assert run(capsys, "lint", str(warned))[0] == 0
    assert run(capsys, "lint", "--strict", str(warned))[0] == 1


def test_lint_json_and_sarif(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BROKEN)
    code, out, _ = run(capsys, "lint", "--format", "json", str(bad))
    (record,) = json.loads(out)
    assert code == 1
    assert {k: record[k] for k in ("line", "col", "code", "severity", "hint")} == {
        "line": 3,
        "col": 20,
        "code": "E102",
        "severity": "error",
        "hint": "did you mean 'delta'?",
    }
    assert record["end"] == {"line": 3, "col": 25}
    sarif = json.loads(run(capsys, "lint", "--format", "sarif", str(bad))[1])
    assert sarif["runs"][0]["results"][0]["ruleId"] == "E102"


def test_usage_errors_exit_two(capsys, tmp_path):
    with pytest.raises(SystemExit) as caught:
        main(["lint"])
    assert caught.value.code == 2
    assert run(capsys, "lint", str(tmp_path))[0] == 2  # no rule files there


def test_scan_table_shows_candidates_and_funnel(capsys):
    code, out, _ = run(capsys, "scan", "rules/bull_put_spread.yaml", "--date", "2011-01-03")
    assert code == 0
    assert "bull_put_spread  2011-01-03  (1 matched)" in out
    assert "P1215 2011-02-18" in out
    assert "delta between -0.30 and -0.20" in out


def test_scan_explain_structure_and_contract(capsys):
    code, out, _ = run(
        capsys, "scan", "rules/bull_put_spread.yaml", "--format", "json", "--explain", "#1"
    )
    verdicts = json.loads(out)[0]["explain"]
    assert code == 0 and all(v["passed"] for v in verdicts)
    assert {k: verdicts[-1][k] for k in ("clause", "passed")} == {
        "clause": "pop >= 65%",
        "passed": True,
    } or any(v["clause"] == "pop >= 65%" for v in verdicts)
    code, out, _ = run(
        capsys,
        "scan",
        "rules/bull_put_spread.yaml",
        "--format",
        "json",
        "--explain",
        "SPX   110219P01300000",
    )
    verdicts = json.loads(out)[0]["explain"]
    failed = [v for v in verdicts if not v["passed"]]
    assert any(v["clause"] == "delta between -0.30 and -0.20" for v in failed)


def test_scan_user_errors_are_messages(capsys, tmp_path):
    code, _, err = run(capsys, "scan", "rules/bull_put_spread.yaml", "--date", "2011-02-01")
    assert code == 2 and "no quotes that day" in err
    code, _, err = run(
        capsys, "scan", "rules/bull_put_spread.yaml", "--chain", str(tmp_path / "x.csv")
    )
    assert code == 2 and "not found" in err
    code, _, err = run(capsys, "scan", "rules/bull_put_spread.yaml", "--explain", "#99")
    assert code == 2 and "no candidate #99" in err
    code, _, err = run(capsys, "scan", "rules/bull_put_spread.yaml", "--set", "net_liq=lots")
    assert code == 2 and "name=number" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text(BROKEN)
    code, _, err = run(capsys, "scan", str(bad))
    assert code == 1 and "E102" in err


def test_graph_names_and_schema(capsys):
    code, out, _ = run(capsys, "graph", "rules/iron_condor.yaml")
    assert code == 0 and "filter leg:long_call:" in out and "value rank:" in out
    code, out, _ = run(capsys, "names")
    assert code == 0 and "open_interest" in out and "contract fields" in out


def test_committed_schema_and_names_are_current(capsys):
    _, out, _ = run(capsys, "schema")
    assert json.loads(out) == json.loads((ROOT / "schema" / "rules.schema.json").read_text()), (
        "run `make schema`"
    )
    _, names, _ = run(capsys, "names", "--format", "markdown")
    assert names.rstrip("\n") == (ROOT / "docs" / "names.md").read_text().rstrip("\n"), (
        "run `make schema`"
    )


def test_examples_validate_against_the_schema():
    import jsonschema
    import yaml

    schema = json.loads((ROOT / "schema" / "rules.schema.json").read_text())
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_scan_says_why_an_indicator_rule_matches_nothing(capsys):
    code, out, _ = run(capsys, "scan", "rules/spx_0dte_ema.yaml", "--date", "2011-01-07")
    assert code == 0 and "(0 matched)" in out
    assert "ema(close, 20) needs 20+ daily bars of SPX, has 5" in out


def test_scan_with_bar_history(capsys):
    code, out, _ = run(
        capsys,
        "scan",
        "rules/spx_0dte_ema.yaml",
        "--date",
        "2011-01-07",
        "--bars",
        "SPX=arch:sp500",
        "--format",
        "json",
    )
    (record,) = json.loads(out)
    trend = next(step for step in record["funnel"] if step["stage"] == "underlying")
    assert code == 0 and (trend["in"], trend["out"]) == (1, 1)  # 20 days of real history now
    assert not record["missing_data"]
    code, _, err = run(capsys, "scan", "rules/spx_0dte_ema.yaml", "--bars", "SPX")
    assert code == 2 and "SYMBOL=SOURCE" in err
    code, _, err = run(capsys, "scan", "rules/spx_0dte_ema.yaml", "--bars", "SPX=arch:dax")
    assert code == 2 and "unknown arch data set" in err


def test_a_bug_is_reported_plainly_with_exit_three(capsys, monkeypatch):
    import rulesengine.cli.main as cli

    def broken(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "dispatch", broken)
    monkeypatch.delenv("RULES_DEBUG", raising=False)
    code = cli.main(["lint", "rules/"])
    err = capsys.readouterr().err
    assert code == 3 and "Traceback" not in err
    assert "internal error (ZeroDivisionError: division by zero)" in err and "RULES_DEBUG=1" in err
