"""Checking `size:`, `limits:`, `breakers:` and `schedule:`: the account-level sections."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rulesengine.check.diagnostics import did_you_mean
from rulesengine.check.names import BREAKER_ACTIONS, WINDOWS, Scope
from rulesengine.check.scopes import ACCOUNT_SCOPES, ACCOUNT_VALUE_TYPES
from rulesengine.check.types import BOOL, Kind, Type
from rulesengine.language import ast
from rulesengine.language.model import percent_share

STRATEGY_ONLY = ("max_entries_per_scan", "reentry_cooldown")
# what a portfolio file's `size:` may say: caps and the desk's daily target, applied to every
# strategy's trade after its own sizing (a base size is each strategy's)
PORTFOLIO_SIZE = ("max_contracts", "max_buying_power", "daily_target", "near_target")

if TYPE_CHECKING:
    from rulesengine.check.checker import _FileChecker as FileChecker


def check_account(fc: FileChecker, model, root, program, lets) -> None:
    portfolio = program.kind == "portfolio"
    for section_name, section_model, scopes in (
        ("size", model.size, ACCOUNT_SCOPES | (set() if portfolio else {Scope.STRUCTURE})),
        ("limits", model.limits, ACCOUNT_SCOPES),
    ):
        if section_model is None:
            continue
        section = root.get(section_name)
        target = program.size if section_name == "size" else program.limits
        for key, value in section_model.model_dump(exclude_none=True).items():
            if key in STRATEGY_ONLY and portfolio:
                fc.result.add(
                    "E011",
                    f"{key} is a strategy's: a portfolio file does not scan",
                    fc.at_node(section.key_node(key)),
                    "move it to the strategy files whose scans it limits",
                )
                continue
            if section_name == "size" and portfolio and key not in PORTFOLIO_SIZE:
                fc.result.add(
                    "E011",
                    f"size.{key} is a strategy's: each strategy sizes its own trades",
                    fc.at_node(section.key_node(key)),
                    f"a portfolio file's size caps every trade with {', '.join(PORTFOLIO_SIZE)}",
                )
                continue
            if isinstance(value, int):
                target[key] = value
                continue
            if key == "near_target":
                steps = _near_target_steps(
                    fc, section, value, has_target=section_model.daily_target is not None
                )
                if steps:
                    target[key] = steps
                continue
            want = ACCOUNT_VALUE_TYPES.get(key, Type(Kind.NUMBER))
            ctx = fc.context(f"{section_name}.{key}", scopes, lets)
            checked = fc.checked(section.get(key), "expr", ctx, f"{section_name}.{key}", want)
            if checked:
                target[key] = checked
    section = root.get("breakers")
    for name in model.breakers:
        node = section.get(name)
        ctx = fc.context("breakers", frozenset({Scope.PORTFOLIO}), lets)
        checked = fc.checked(node, "breaker", ctx, f"breakers.{name}", BOOL)
        if checked is None:
            continue
        breaker = checked.node
        assert isinstance(breaker, ast.Breaker)
        if breaker.action not in BREAKER_ACTIONS:
            hint = (
                did_you_mean(breaker.action, BREAKER_ACTIONS)
                or f"one of: {', '.join(BREAKER_ACTIONS)}"
            )
            fc.reporter(checked.source)(
                "E402", f"unknown breaker action '{breaker.action}'", breaker.action_span, hint
            )
            continue
        program.breakers[name] = checked


def _near_target_steps(fc: FileChecker, section, value: dict[str, str], *, has_target: bool):
    """`near_target: {80%: 50%, 90%: 25%}` -> ((0.8, 0.5), (0.9, 0.25)), sorted by share."""
    where = fc.at_node(section.key_node("near_target"))
    if not has_target:
        fc.result.add(
            "E011",
            "near_target needs daily_target: its shares are of that target",
            where,
            "add `daily_target: $300` (for example) to the same size section",
        )
        return None
    steps = []
    for share, multiplier in value.items():
        at, keep = percent_share(share), percent_share(multiplier)
        if not (0 < at < 1) or keep > 1:
            fc.result.add(
                "E204",
                f"near_target {share.strip()}: {multiplier.strip()} is out of range",
                where,
                "shares of the target are between 0% and 100%, size multipliers at most 100%",
            )
            return None
        steps.append((at, keep))
    return tuple(sorted(steps))


def check_schedules(fc: FileChecker, model, root, program) -> None:
    if model.schedule is None:
        return
    section = root.get("schedule")
    for key in model.schedule.model_dump(exclude_none=True):
        source = fc.source(section.get(key))
        schedule = fc.parse(source, "schedule")
        if not isinstance(schedule, ast.Schedule):
            continue
        if schedule.window is not None and schedule.window not in WINDOWS:
            hint = did_you_mean(schedule.window, WINDOWS) or f"one of: {', '.join(WINDOWS)}"
            fc.reporter(source)(
                "E401",
                f"unknown session window '{schedule.window}'",
                schedule.window_span,
                hint,
            )
            continue
        program.schedules[key] = schedule
