"""Scenario files: what a trader writes, and the messages when it is wrong."""

from __future__ import annotations

import textwrap
from datetime import date, time

import pytest

from rulesengine.engine.positions import PositionLeg
from rulesengine.scenarios.model import ScenarioError, load_scenarios
from rulesengine.scenarios.runner import payoff_extremes


def write(tmp_path, text: str):
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_ticks_as_dates_times_mappings_and_all(tmp_path):
    path = write(
        tmp_path,
        """
        scenarios:
          - name: a
            at: "10:30"
            ticks: [2011-01-03, "2011-01-04 11:00", {date: 2011-01-05, broker_down: true}]
          - name: b
            ticks: all
        """,
    )
    a, b = load_scenarios(path)
    days = [date(2011, 1, d) for d in (3, 4, 5, 6, 7)]
    ticks = a.tick_list(days)
    assert [(t.date.day, t.at, t.broker_down) for t in ticks] == [
        (3, time(10, 30), False),
        (4, time(11, 0), False),
        (5, time(10, 30), True),
    ]
    assert [t.date for t in b.tick_list(days)] == days
    assert b.tick_list(days)[0].at == time(15, 45)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("  - name: a\n    colour: red\n", "scenario 'a': colour: Extra inputs are not permitted"),
        (
            "  - name: a\n    positions:\n"
            "      - {strategy: s, price: 1, legs: {short: sel put 1 x}}\n",
            "leg short: 'sel put 1 x' is not '<buy|sell> [N] <put|call> <strike> <YYYY-MM-DD>'",
        ),
        ("  - name: a\n    ticks: [tomorrow]\n", "ticks.0: tick 'tomorrow': expected YYYY-MM-DD"),
        ("  - name: a\n    ticks: [{date: x}]\n", "ticks.0.date: Input should be a valid date"),
        ("  - name: a\n  - name: a\n", "scenario names must be unique: a"),
        ("  - name: a b\n", "scenario 'a b': name: String should match pattern"),
        ("  - name: a\n    account: {cash: -5}\n", "account.cash: Input should be greater than 0"),
    ],
)
def test_mistakes_name_the_scenario_and_the_field(tmp_path, body, expected):
    path = write(tmp_path, "scenarios:\n" + body)
    with pytest.raises(ScenarioError) as error:
        load_scenarios(path)
    assert expected in str(error.value)
    assert str(path) in str(error.value)


def test_a_list_of_ticks_is_not_also_told_it_should_be_all(tmp_path):
    path = write(tmp_path, "scenarios:\n  - name: a\n    ticks: [tomorrow]\n")
    with pytest.raises(ScenarioError) as error:
        load_scenarios(path)
    assert "1 problem(s)" in str(error.value) and "'all'" not in str(error.value)


def test_broken_yaml_points_at_the_line(tmp_path):
    path = write(tmp_path, "scenarios:\n  - name: a\n    date: [2011\n")
    with pytest.raises(ScenarioError, match=r"s\.yaml:\d+:\d+: not valid YAML"):
        load_scenarios(path)


def _leg(name, ratio, kind, strike):
    return PositionLeg(name, name, ratio, kind, strike, "2011-02-18")


def test_payoff_extremes_of_common_structures():
    put_spread = [_leg("short", -1, "put", 1200), _leg("long", 1, "put", 1195)]
    assert payoff_extremes(put_spread, 1.25) == pytest.approx((125.0, 375.0))
    condor = [
        _leg("lp", 1, "put", 1175),
        _leg("sp", -1, "put", 1185),
        _leg("sc", -1, "call", 1330),
        _leg("lc", 1, "call", 1340),
    ]
    assert payoff_extremes(condor, 2.20) == pytest.approx((220.0, 780.0))
    naked_call = [_leg("short", -1, "call", 1300)]
    profit, loss = payoff_extremes(naked_call, 3.0)
    assert profit == pytest.approx(300.0) and loss == float("inf")
    long_call = [_leg("long", 1, "call", 1300)]
    assert payoff_extremes(long_call, -3.0) == (float("inf"), pytest.approx(300.0))
