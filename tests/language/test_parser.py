from datetime import date

import pytest

from rulesengine.language import ast
from rulesengine.language.errors import SourceError
from rulesengine.language.parser import MAX_DEPTH, parse


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("$500", 500.0, "$"),
        ("$0.30", 0.30, "$"),
        ("10%", 0.10, "%"),
        ("1.5M", 1_500_000.0, ""),
        ("2k", 2000.0, ""),
        ("$1.5k", 1500.0, "$"),
        ("5m", 300.0, "duration"),
        ("1d", 86400.0, "duration"),
        ("250ms", 0.25, "duration"),
        ("2w", 1_209_600.0, "duration"),
        ("1e3", 1000.0, ""),
        (".5", 0.5, ""),
    ],
)
def test_numbers_carry_their_unit(text, value, unit):
    node = parse(text)
    assert isinstance(node, ast.Number)
    assert node.value == pytest.approx(value)
    assert node.unit == unit


def test_dates_times_strings_bools():
    assert parse("2011-01-21").value == date(2011, 1, 21)
    assert parse("15:45").minutes == 15 * 60 + 45
    assert parse('"SPXW"').value == "SPXW"
    assert parse("true").value is True


def test_precedence_of_arithmetic_and_logic():
    node = parse("a + b * c > 1 and not d or e")
    assert isinstance(node, ast.BoolOp) and node.op == "or"
    left = node.operands[0]
    assert isinstance(left, ast.BoolOp) and left.op == "and"
    compare = left.operands[0]
    assert isinstance(compare.left, ast.Binary) and compare.left.op == "+"
    assert compare.left.right.op == "*"
    assert isinstance(left.operands[1], ast.Unary) and left.operands[1].op == "not"


def test_between_binds_its_own_and():
    node = parse("delta between -0.3 and -0.2 and liquid")
    assert isinstance(node, ast.BoolOp) and len(node.operands) == 2
    between = node.operands[0]
    assert isinstance(between, ast.Between)
    assert between.high.operand.value == 0.2


def test_percent_of_in_list_calls_and_legs():
    assert parse("50% of max_profit").op == "of"
    node = parse("root not in [SPX, 'SPXW']")
    assert isinstance(node, ast.InList) and node.negated and len(node.items) == 2
    call = parse("sma(close, 50)")
    assert call.func == "sma" and len(call.args) == 2
    attr = parse("short.strike - 5").left
    assert (attr.owner, attr.name) == ("short", "strike")


def test_spans_point_into_the_text():
    text = "dte < 30 and delat > 2"
    node = parse(text)
    name = node.operands[1].left
    assert text[name.span[0] : name.span[1]] == "delat"


def test_leg_selection():
    leg = parse("sell 2 calls where strike > price prefer delta nearest 0.3 keep 2", "leg")
    assert (leg.side, leg.count, leg.kind) == ("sell", 2, "calls")
    assert leg.prefer.mode == "nearest" and leg.prefer.keep == 2
    assert parse("put prefer highest open_interest", "leg").prefer.mode == "highest"
    assert parse("buy stock", "leg").kind == "stock"


def test_schedules():
    every = parse("every 5m during regular_hours", "schedule")
    assert (every.kind, every.interval_s, every.window) == ("every", 300.0, "regular_hours")
    at = parse("at 09:45, 15:45", "schedule")
    assert at.times == (585, 945)
    assert parse("before_close 10m", "schedule").interval_s == 600
    assert parse('cron "*/5 9-15 * * mon-fri"', "schedule").cron == "*/5 9-15 * * mon-fri"
    assert parse("every 1m between 10:00 and 14:00", "schedule").between == (600, 840)


def test_breakers():
    breaker = parse("losing_streak >= 5 -> block_entries for 1d", "breaker")
    assert breaker.action == "block_entries" and breaker.duration_s == 86400
    assert parse("day_pnl <= -$1000 -> halt", "breaker").duration_s is None


@pytest.mark.parametrize(
    ("text", "start", "message", "hint_part"),
    [
        ("delta > 0.2 dte < 30", "expr", "missing `and` between conditions", "`and`"),
        ("delta = 3", "expr", "a single `=` is not a comparison", "=="),
        ("(a + b", "expr", "missing `)`", "("),
        ("a && b", "expr", "`&&` is not an operator here", "and"),
        ("$5m > 3", "expr", "mixes money", "$5"),
        ("day_pnl < 3", "breaker", "a breaker needs an action", "-> halt"),
        ("every 5 during regular_hours", "schedule", "needs a duration", "5m"),
        ('cron "* * *"', "schedule", "5 fields", "cron"),
        ('cron "61 * * * *"', "schedule", "outside 0-59", None),
        ("at 25:00", "schedule", "not a time of day", None),
        ("2011-02-30 > expiry", "expr", "not a date", None),
        ("", "expr", "empty expression", None),
    ],
)
def test_syntax_errors_say_what_to_write(text, start, message, hint_part):
    with pytest.raises(SourceError) as caught:
        parse(text, start)
    assert message in caught.value.message
    if hint_part:
        assert hint_part in (caught.value.hint or "")


def test_redundant_parentheses_add_no_depth():
    assert parse("(" * 200 + "1" + ")" * 200).value == 1.0


def test_limits_on_size_and_depth():
    with pytest.raises(SourceError) as deep:
        parse("abs(" * (MAX_DEPTH + 5) + "1" + ")" * (MAX_DEPTH + 5))
    assert deep.value.code == "E303"
    with pytest.raises(SourceError) as negations:
        parse("-" * 900 + "1")
    assert negations.value.code == "E303"
    with pytest.raises(SourceError) as long:
        parse("a + " * 1000 + "a")
    assert long.value.code == "E303"
