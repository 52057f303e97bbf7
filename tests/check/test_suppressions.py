"""Issue 16: accepting a warning in the file (`# rules: allow W303`), reported as suppressed;
W303 only where the structure does not already bound the loss."""

from __future__ import annotations

import json

import pytest

from rulesengine.check.checker import check_text
from rulesengine.cli.main import main

NAKED = "strategy: s\nuniverse: [SPX]\n{above}legs:{trailing}\n  short: put where delta > -0.3\n"


def codes(text: str) -> tuple[list[str], list[str]]:
    result = check_text(text)
    return [d.code for d in result.diagnostics], [d.code for d in result.suppressed]


def test_a_naked_put_without_a_stop_gets_w303():
    assert codes(NAKED.format(above="", trailing="")) == (["W303"], [])


@pytest.mark.parametrize(
    ("above", "trailing"),
    [
        ("# rules: allow W303\n", ""),  # the line above
        ("", "  # rules: allow W303"),  # the same line
        ("# rules: allow-file W303\n# (a naked put, sized small on purpose)\n", ""),
        ("# rules: allow W301, W303\n\n# why: sized small\n", ""),  # comments and blanks skipped
    ],
)
def test_an_allow_comment_suppresses_the_warning(above, trailing):
    assert codes(NAKED.format(above=above, trailing=trailing)) == ([], ["W303"])


def test_an_allow_on_another_line_does_not():
    text = NAKED.format(above="", trailing="") + "# rules: allow W303\nlet:\n  x: 1\n"
    shown, hidden = codes(text)
    assert "W303" in shown and hidden == []


@pytest.mark.parametrize(
    ("comment", "says"),
    [
        ("# rules: allow E102", "errors can't be allowed"),
        ("# rules: allow W999", "no diagnostic has the code W999"),
    ],
)
def test_errors_and_unknown_codes_cannot_be_allowed(comment, says):
    result = check_text(NAKED.format(above="", trailing="  " + comment))
    assert any(d.code == "W306" and says in d.message for d in result.diagnostics)


@pytest.mark.parametrize(
    "legs",
    [
        "  long: call where delta > 0.3\n",  # only bought options
        "  short: call where delta < 0.3\n"
        "  long: call where expiry == short.expiry and strike == short.strike + 5\n",
        "  short_put: put where delta > -0.2\n"
        "  long_put: put where expiry == short_put.expiry and strike == short_put.strike - 5\n"
        "  short_call: call where expiry == short_put.expiry and delta < 0.2\n"
        "  long_call: call where expiry == short_put.expiry and strike == short_call.strike + 5\n",
    ],
    ids=["long call", "bear call spread", "iron condor"],
)
def test_w303_stays_quiet_when_the_structure_bounds_the_loss(legs):
    assert "W303" not in codes(f"strategy: s\nuniverse: [SPX]\nlegs:\n{legs}")[0]


def test_json_and_sarif_report_the_suppression_and_strict_passes(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(NAKED.format(above="# rules: allow W303\n", trailing=""))
    assert main(["lint", "--strict", str(path)]) == 0
    assert "1 allowed by `# rules: allow`" in capsys.readouterr().out
    assert main(["lint", "--format", "json", str(path)]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["code"] == "W303" and record["suppressed"] is True
    assert main(["lint", "--format", "sarif", str(path)]) == 0
    (result,) = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert result["ruleId"] == "W303" and result["suppressions"] == [{"kind": "inSource"}]
    path.write_text(NAKED.format(above="", trailing=""))
    assert main(["lint", "--strict", str(path)]) == 1
