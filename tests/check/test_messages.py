"""Issue 16: each message names the real cause."""

from __future__ import annotations

import pytest

from rulesengine.check.checker import check_text

HEAD = "strategy: s\nuniverse: [SPX]\n"
LEGS = (
    "legs:\n  short: put where delta > -0.3\n"
    "  long: put where expiry == short.expiry and strike == short.strike - 5\n"
    "exit:\n  stop: pnl <= -100\n"
)


def messages(text: str) -> list[tuple[str, str, str]]:
    return [(d.code, d.message, d.hint or "") for d in check_text(text).diagnostics]


def test_a_leg_named_inside_a_let_says_so_and_its_uses_stay_quiet():
    found = messages(HEAD + "let:\n  wide: long.delta > 0.1\n" + LEGS + "  w: wide\n")
    assert found == [
        (
            "E106",
            "leg 'long' can't be named inside a `let`",
            "write the `let` for one contract (`delta ...`) and use it as long.NAME",
        )
    ]


@pytest.mark.parametrize(
    ("clause", "says"),
    [
        ("underlying.price > 0", None),
        ("delta > 0", "'delta' is a contract field"),
        ("day_pnl > 0 and vix > 0 and strike > 0", "'strike' is a contract field"),
    ],
)
def test_articles(clause, says):
    found = messages(HEAD + f"underlying:\n  - {clause}\n" + LEGS)
    if says is None:
        assert not [m for m in found if m[0].startswith("E")]
    else:
        assert any(says in m[1] for m in found)


def test_an_underlying_field_outside_its_scope_reads_an_underlying():
    found = messages(HEAD + "legs:\n  short: put where delta > -0.3\nsize:\n  risk: price\n")
    assert any("is an underlying field" in m[1] for m in found), found


def test_account_prefix_gets_the_plain_name():
    found = messages(HEAD + LEGS.replace("pnl <= -100", "account.net_liq < 1"))
    assert found[0][:2] == ("E106", "no leg named 'account'")
    assert found[0][2] == "account names are written plainly: `net_liq`, not `account.net_liq`"


@pytest.mark.parametrize("tail", ["delta >", "delta > (", "delta between 1 and"])
def test_a_syntax_hint_always_says_what_is_expected(tail):
    found = messages(HEAD + f"legs:\n  short: put where {tail}\n")
    (error,) = [m for m in found if m[0] == "E101"]
    assert error[2].startswith("expected ") and error[2] != "expected "
    assert error[2].removeprefix("expected ").strip()


def test_near_target_compiles_to_sorted_shares_of_the_daily_target():
    size = "size:\n  contracts: 4\n  daily_target: $300\n  near_target: {90%: 25%, 80%: 50%}\n"
    result = check_text(HEAD + LEGS + size)
    assert not result.diagnostics
    assert result.program is not None
    assert result.program.size["near_target"] == ((0.8, 0.5), (0.9, 0.25))


@pytest.mark.parametrize(
    ("size", "code", "says"),
    [
        ("  near_target: {80%: 50%}\n", "E011", "near_target needs daily_target"),
        ("  daily_target: $300\n  near_target: {120%: 50%}\n", "E204", "120%: 50% is out of"),
        ("  daily_target: $300\n  near_target: {80%: 150%}\n", "E204", "80%: 150% is out of"),
    ],
)
def test_near_target_errors_say_what_to_write(size, code, says):
    (found,) = messages(HEAD + LEGS + "size:\n" + size)
    assert found[0] == code and says in found[1]


def test_near_target_shares_are_percentages():
    found = messages(HEAD + LEGS + "size:\n  daily_target: $300\n  near_target: {0.8: 50%}\n")
    assert found == [
        (
            "E011",
            "`size.near_target.0.8`: '0.8' is not a percentage",
            "write a percentage, e.g. `80%`",
        )
    ]


def test_a_portfolio_size_takes_caps_and_the_daily_target_only():
    desk = "portfolio: desk\nsize:\n  daily_target: $300\n  near_target: {80%: 50%}\n"
    result = check_text(desk)
    assert not result.diagnostics and result.program is not None
    assert result.program.size["near_target"] == ((0.8, 0.5),)
    found = messages("portfolio: desk\nsize:\n  risk: 1% of net_liq\n")
    assert found == [
        (
            "E011",
            "size.risk is a strategy's: each strategy sizes its own trades",
            "a portfolio file's size caps every trade with max_contracts, max_buying_power, "
            "daily_target, near_target",
        )
    ]
