"""A strategy's exits and roll: each exit a condition on the position, the roll's `when`
and its moved legs, and W303 when neither the structure nor an exit limits the loss."""

from __future__ import annotations

from dataclasses import replace

from rulesengine.check import lints
from rulesengine.check.program import ExitSize
from rulesengine.check.rolls import check_roll_legs, roll_legs_visible
from rulesengine.check.scopes import EXIT_SCOPES
from rulesengine.check.types import BOOL
from rulesengine.language import ast
from rulesengine.language.model import DEFAULT_ROLL_FALLBACK


def check_exits(checker, model, root, program, lets) -> None:
    """`exit:` conditions, `roll:`, sectors, and W303 for a loss nothing limits."""
    section = root.get("exit")
    leg_names = tuple(model.legs)
    for name in model.exit:
        ctx = checker.context("exit conditions", EXIT_SCOPES, lets, leg_names, leg_names)
        checked = checker.checked(section.get(name), "exit_rule", ctx, f"exit.{name}", BOOL)
        if checked is None:
            continue
        rule = checked.node
        if isinstance(rule, ast.ExitRule):  # a partial exit or a roll: the condition, and what
            assert rule.condition is not None
            # the condition alone: reasons and funnels quote it without the `-> action`
            text = checked.text[: rule.condition.span[1]].rstrip()
            checked = replace(checked, node=rule.condition, text=text)
            if rule.action == "roll":
                program.exit_rolls = (*program.exit_rolls, name)
            else:
                program.exit_sizes[name] = ExitSize(rule.amount, rule.percent)
        program.exits[name] = checked
    if model.roll is not None:
        visible = roll_legs_visible(program, leg_names)
        ctx = checker.context("roll", EXIT_SCOPES, lets, visible, visible)
        node = root.get("roll").get("when")
        program.roll = checker.checked(node, "expr", ctx, "roll.when", BOOL)
        program.roll_credit_only = model.roll.credit_only
        program.roll_fallback = tuple(model.roll.fallback)
        check_roll_legs(checker, model, root, program, lets)
    elif program.exit_rolls:  # `-> roll` without a `roll:` section: its defaults
        program.roll_fallback = DEFAULT_ROLL_FALLBACK
    program.sectors = {name: tuple(symbols) for name, symbols in model.sectors.items()}
    if (
        program.kind == "strategy"
        and model.legs
        and not lints.bounded_loss(program.legs)
        and not any(lints.limits_loss(c.node) for c in program.exits.values())
        and len(program.exits) == len(model.exit)
        and not (model.order is not None and model.order.protective_stop)  # a resting stop
    ):
        anchor = root.key_node("exit") or root.key_node("legs")
        checker.result.add(
            "W303",
            "no exit limits the loss of this strategy",
            checker.at_node(anchor),
            "add e.g. `stop_loss: pnl <= -2 * entry_credit` (or, for shares and futures, "
            "`order: protective_stop: $150`)",
        )
