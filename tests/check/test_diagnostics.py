"""One case per diagnostic code: the code, where it points, and the hint."""

import json

import pytest

from rulesengine.check.checker import check_file, check_text
from rulesengine.check.diagnostics import CODES, render_sarif, render_text
from tests.conftest import ROOT, STRATEGY_HEAD

STOP = "exit:\n  stop_loss: pnl <= -2 * entry_credit\n"


def strategy(legs: str, extra: str = "") -> str:
    return f"strategy: t\nlegs:\n{legs}{extra}{STOP}"


CASES = {
    "E001": ("strategy: t\nlegs: [\n", 3, 1, None),
    "E010": ("strategy: t\nlegz:\n  short: put\n" + STOP, 2, 1, "did you mean 'legs'?"),
    "E011": (STRATEGY_HEAD + "size:\n  max_contracts: 0\n", 7, 18, "whole number"),
    "E012": (STRATEGY_HEAD + "exit:\n  x: dte < 3\n", 6, 1, "rename"),
    "E101": (STRATEGY_HEAD + "entry:\n  - credit > 1 pop > 0.5\n", 7, 16, "`and`"),
    "E102": (strategy("  short: put where delat > -0.3\n"), 3, 20, "did you mean 'delta'?"),
    "E103": (strategy("  short: put where smaa(delta) > 1\n"), 3, 20, "did you mean 'sma'?"),
    "E104": (strategy("  short: put where abs(delta, 2) > 1\n"), 3, 20, "abs(x)"),
    "E105": (strategy("  short: pt where delta > -0.3\n"), 3, 10, "did you mean 'put'?"),
    "E106": (
        strategy(
            "  short: put where strike > long.strike\n"
            "  long: put where strike < short.strike prefer strike nearest 1\n"
        ),
        3,
        29,
        "above it",
    ),
    "E107": (STRATEGY_HEAD + "entry:\n  - delta > -0.3\n", 7, 5, "short.delta"),
    "E108": (
        "strategy: t\nlet:\n  a: b > 1\n  b: a\nlegs:\n  short: put where a\n" + STOP,
        3,
        3,
        "cycle",
    ),
    "E109": (strategy("  wing: put where delta > -0.3\n"), 3, 9, "sell put"),
    "E201": (strategy("  short: put where delta > $5\n"), 3, 20, "drop the `$`"),
    "E202": (STRATEGY_HEAD + "entry:\n  - credit\n", 7, 5, "compare it"),
    "E204": (strategy("  short: put where bid > $5m\n"), 3, 26, "$5"),
    "E301": (strategy("  short: put where dte between 45 and 25\n"), 3, 20, "between 25 and 45"),
    "E302": (strategy("  short: call where delta > 0.5 and delta < 0.3\n"), 3, 37, "reversed"),
    "E303": (strategy("  short: put where " + " + ".join(["dte"] * 600) + " > 1\n"), 3, 10, "let"),
    "E401": (
        STRATEGY_HEAD + "schedule:\n  scan: every 5m during regular_hour\n",
        7,
        25,
        "did you mean 'regular_hours'?",
    ),
    "E402": (
        STRATEGY_HEAD + "breakers:\n  x: day_pnl < -$100 -> hault\n",
        7,
        25,
        "did you mean 'halt'?",
    ),
    "E403": (
        "portfolio: risk\nnotify:\n  desk:\n    url: json://h/x\n    events: [entry, brekers]\n",
        5,
        13,
        "did you mean 'breaker'?",
    ),
    "E404": (
        "portfolio: risk\nreports:\n  review: fridya 17:00\n",
        3,
        11,
        "e.g. `review: friday 17:00`",
    ),
    "W301": (strategy("  short: put where dte >= 0 and delta > -0.3\n"), 3, 20, "remove it"),
    "W302": (
        strategy("  short: put where delta between 0.20 and 0.30\n"),
        3,
        20,
        "did you mean -0.3..-0.2?",
    ),
    "W303": (
        "strategy: t\nlegs:\n  short: put where delta > -0.3\nexit:\n  t: dte <= 21\n",
        4,
        1,
        "stop_loss",
    ),
    "W304": (
        strategy("  short: put where delta > -0.3\n  long: put where strike < short.strike\n"),
        4,
        9,
        "expiry == short.expiry",
    ),
    "W305": (
        "strategy: t\nlet:\n  unused: bid > 0\nlegs:\n  short: put where delta > -0.3\n" + STOP,
        3,
        3,
        "remove it",
    ),
    "E110": (
        "strategy: t\nexpiry: prefer delta nearest 45\nlegs:\n  short: put where delta > -0.3\n"
        + STOP,
        2,
        16,
        "prefer by an expiry field",
    ),
    "E111": (
        "strategy: t\nunderlying:\n  - ema(close, 9, 30s) > 0\n"
        "legs:\n  short: put where delta > -0.3\n" + STOP,
        3,
        19,
        None,
    ),
    "E112": (
        "strategy: t\nunderlying:\n  - crosses_above(ema(close, 9, 5m), sma(close, 50, 1d))\n"
        "legs:\n  short: put where delta > -0.3\n" + STOP,
        3,
        5,
        "compare the indicators' last values",
    ),
    "E113": (
        "strategy: t\nunderlying:\n  - crosses_above(close, price * 2)\n"
        "legs:\n  short: put where delta > -0.3\n" + STOP,
        3,
        26,
        "an indicator such as ema(close, 9)",
    ),
    "E114": (
        "strategy: t\nunderlying:\n  - sma(close, 500, 4h) > 0\n"
        "legs:\n  short: put where delta > -0.3\n" + STOP,
        3,
        5,
        "use a longer timeframe",
    ),
    "W306": (
        "strategy: t\nlegs:  # rules: allow E102\n  short: put where delta > -0.3\n" + STOP,
        2,
        23,
        "allow a W-code",
    ),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_code(code):
    text, line, col, hint = CASES[code]
    result = check_text(text, "rules/t.yaml")
    found = [d for d in result.diagnostics if d.code == code]
    assert found, f"no {code} in {[(d.code, d.message) for d in result.diagnostics]}"
    diagnostic = found[0]
    assert (diagnostic.line, diagnostic.col) == (line, col), render_text(diagnostic, result.lines)
    if hint:
        assert hint in (diagnostic.hint or "") + diagnostic.message
    assert diagnostic.severity == ("warning" if code.startswith("W") else "error")


def test_every_code_has_a_case():
    assert set(CASES) | {"E002", "E000"} == set(CODES)


def test_a_checker_bug_is_e000_for_its_file_only(monkeypatch, tmp_path, capsys):
    from rulesengine.check import checker
    from rulesengine.cli.main import main

    def broken(*args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(checker, "check_schedules", broken)
    result = check_text("strategy: t\nlegs:\n  short: put where delta > -0.3\n" + STOP)
    (diagnostic,) = result.errors
    assert diagnostic.code == "E000" and "RuntimeError: a bug" in diagnostic.message
    (tmp_path / "a.yaml").write_text("strategy: a\nlegs:\n  short: put where credt > 1\n")
    assert main(["lint", str(tmp_path)]) == 1
    assert "unknown name 'credt'" in capsys.readouterr().out  # the other check still reports


def test_unreadable_files_are_e002(tmp_path):
    missing = check_file(tmp_path / "nope.yaml")
    assert [d.code for d in missing.diagnostics] == ["E002"]
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"strategy: \xff\xfe\x00")
    assert [d.code for d in check_file(binary).diagnostics] == ["E002"]


def test_reports_every_error_in_a_file():
    text = strategy(
        "  short: put where delat > -0.3 and dte between 45 and 25\n",
        "entry:\n  - credit > $5 and pop >= $1\n",
    )
    codes = sorted(d.code for d in check_text(text).diagnostics)
    assert codes == ["E102", "E201", "E301"]


def test_text_rendering_matches_the_compiler_format():
    text = strategy("  short: put where dte < 30 and delat > -0.3\n")
    result = check_text(text, "rules/bps.yaml")
    assert render_text(result.diagnostics[0], result.lines) == (
        "rules/bps.yaml:3:33: error[E102]: unknown name 'delat'\n"
        "  |\n"
        "3 |   short: put where dte < 30 and delat > -0.3\n"
        "  |                                 ^^^^^\n"
        "  = help: did you mean 'delta'?"
    )


def test_sarif_is_a_valid_log():
    result = check_text(strategy("  short: put where delat > -0.3\n"), "rules/t.yaml")
    sarif = json.loads(render_sarif(result.diagnostics, "0"))
    assert sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    (entry,) = run["results"]
    assert entry["ruleId"] == "E102"
    region = entry["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"], region["endColumn"]) == (3, 20, 25)


def test_type_rules_from_the_issue():
    # `delta > $5` is a type error; `10%` is 0.10; bare numbers adopt units in sums
    assert [
        d.code for d in check_text(strategy("  short: put where delta > $5\n")).diagnostics
    ] == ["E201"]
    ok = check_text(strategy("  short: put where spread < 10% of mid and strike > price - 100\n"))
    assert not ok.errors
    assert check_text(strategy("  short: put where quote_age < 30\n")).errors[0].code == "E201"
    assert not check_text(strategy("  short: put where quote_age < 30s\n")).errors


def test_enum_values_resolve_and_misspellings_are_caught():
    assert not check_text(
        strategy("  short: put where settlement == pm and type in [put]\n")
    ).errors
    bad = check_text(strategy("  short: put where settlement == pn\n"))
    assert bad.errors[0].code == "E102" and "'pm'" in bad.errors[0].hint


def test_leg_qualified_lets_and_underlying_fields():
    text = (
        "strategy: t\nlet:\n  liquid: bid > 0 and open_interest > 10\nlegs:\n"
        "  short: put where liquid\n"
        "  long: put where expiry == short.expiry and strike == short.strike - 5\n"
        "entry:\n  - long.liquid and underlying.price > $10\n" + STOP
    )
    result = check_text(text)
    assert not result.diagnostics, [d.message for d in result.diagnostics]


def test_stock_legs_read_the_underlying_not_a_contract():
    text = "strategy: t\nlegs:\n  long_stock: buy stock where delta > 0\n" + STOP
    assert check_text(text).errors[0].code == "E107"
    assert not check_text(
        "strategy: t\nlegs:\n  long_stock: buy stock where price > $10\n" + STOP
    ).errors


def test_every_section_type_checks_even_before_the_engine_acts_on_it():
    risk = check_file(ROOT / "rules" / "risk.yaml").program
    assert risk.kind == "portfolio"
    actions = {name: (c.node.action, c.node.duration_s) for name, c in risk.breakers.items()}
    assert actions["weekly_loss"] == ("block_entries", 2 * 86400)
    assert actions["broker_trouble"] == ("halt", 30 * 60)
    bps = check_file(ROOT / "rules" / "bull_put_spread.yaml").program
    assert bps.schedules["scan"].interval_s == 300 and bps.size["max_contracts"] == 10
    assert set(bps.exits) == {"take_profit", "stop_loss", "time_stop"}
    wrong = {
        "size:\n  risk: 5%\n": "E201",  # risk is money: `5% of net_liq`
        "exit:\n  tp: pnl >= 50%\n": "E201",  # pnl is money
        "limits:\n  max_heat: $500\n": "E201",  # a share of net_liq
        "breakers:\n  x: delta > 0.5 -> halt\n": "E107",  # no contract fields in breakers
        "schedule:\n  scan: every 5\n": "E204",  # a duration needs a unit
    }
    for section, code in wrong.items():
        result = check_text("strategy: t\nlegs:\n  short: put where delta > -0.3\n" + section)
        assert code in {d.code for d in result.errors}, (section, result.diagnostics)
