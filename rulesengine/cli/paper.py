"""`--cash`, `--option-level`, `--margin`: the paper account a replay or backtest opens."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from brokers.paper.settings import AccountSettings, SettingsError
from rulesengine.engine.ruleset import RuleSet


def add_arguments(parser) -> None:
    group = parser.add_argument_group("paper account (default: a portfolio file's `paper:`)")
    group.add_argument("--cash", help="starting cash, e.g. 250000 ($100,000)")
    group.add_argument("--option-level", type=int, choices=(1, 2, 3, 4), help="approval (3)")
    group.add_argument("--margin", choices=("cash", "margin"), help="account type (cash)")


def settings(args, rules: RuleSet) -> AccountSettings | None:
    """The flags over the rules' `paper:` block; None when neither asks for anything.
    Raises SettingsError with a message for the user."""
    if args.cash is None and args.option_level is None and args.margin is None:
        return rules.paper
    base = rules.paper or AccountSettings()
    try:
        cash = base.cash if args.cash is None else Decimal(args.cash.replace(",", "").lstrip("$"))
    except InvalidOperation:
        raise SettingsError(f"--cash {args.cash}: write a number, e.g. 250000") from None
    return AccountSettings(
        cash,
        base.option_level if args.option_level is None else args.option_level,
        base.margin if args.margin is None else args.margin,
    )
