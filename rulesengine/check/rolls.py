"""Checking a roll that moves some legs: `legs:`, `to:` and `expiry:` under `roll:`.

    roll:
      when: short_call.delta >= 0.40
      legs: [short_put, long_put]              # the untested side
      to: delta nearest 50% of short_call.delta
      expiry: same

The moved legs must include a sold option leg: it takes the new contract `to` chooses (a
contract field, nearest a target read from the position); bought legs moved with it keep
their strike distance from it. Without `to`, the sold leg's own `prefer` chooses. For a
strangle or a condor, `legs: [untested]` moves the side away from the market, and `tested`
names the other side's sold option in `when` and `to` (`tested.delta`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rulesengine.check.diagnostics import did_you_mean
from rulesengine.check.expressions import check
from rulesengine.check.names import Scope
from rulesengine.check.program import FieldRef
from rulesengine.check.scopes import EXIT_SCOPES
from rulesengine.check.types import comparable
from rulesengine.language import ast

UNTESTED = "untested"  # roll.legs: the side opposite the tested one
TESTED = "tested"  # in `when` and `to`: the sold option with the larger |delta|

if TYPE_CHECKING:
    from rulesengine.check.checker import _FileChecker as FileChecker


def check_roll_legs(fc: FileChecker, model, root, program, lets) -> None:
    section = root.get("roll")
    roll = model.roll
    program.roll_expiry = roll.expiry
    names = tuple(model.legs)
    where = fc.at_node(section.get("legs") or section.key_node("roll"))
    if list(roll.legs) == [UNTESTED]:
        if not two_sided(program):
            fc.result.add(
                "E011",
                "`untested` needs a sold put and a sold call (a strangle, a condor)",
                where,
                "name the legs to move instead",
            )
            return
        program.roll_legs = (UNTESTED,)
    else:
        _named_legs(fc, roll, names, program, where)
    if roll.to is not None and program.roll_legs:
        program.roll_to = _check_to(fc, section.get("to"), lets, roll_legs_visible(program, names))


def _named_legs(fc: FileChecker, roll, names, program, where) -> None:
    for name in roll.legs:
        if name not in names:
            hint = did_you_mean(name, [*names, UNTESTED])
            fc.result.add("E106", f"no leg named '{name}'", where, hint)
            return
    moved = tuple(n for n in names if n in roll.legs)
    if not moved or len(moved) == len(names):
        moved = ()  # the whole position: the strategy's own legs and entry rules choose
    program.roll_legs = moved
    legs = {leg.name: leg for leg in program.legs}
    if moved and not any(
        legs[n].side == "sell" and legs[n].kind != "stock" for n in moved if n in legs
    ):
        fc.result.add(
            "E011",
            "a roll that moves some legs needs a sold option leg among them",
            where,
            "e.g. legs: [short_put, long_put]",
        )
        return


def two_sided(program) -> bool:
    sold = {leg.kind for leg in program.legs if leg.side == "sell"}
    return {"put", "call"} <= sold


def roll_legs_visible(program, names: tuple[str, ...]) -> tuple[str, ...]:
    """The legs a roll's `when` and `to` may name: the strategy's, and `tested` (the sold
    option the market moved toward) for a two-sided structure."""
    return (*names, TESTED) if two_sided(program) else names


def _check_to(fc: FileChecker, node, lets, names) -> ast.Prefer | None:
    source = fc.source(node)
    spec = fc.parse(source, "roll_to")
    if not isinstance(spec, ast.Prefer) or spec.key is None:
        return None
    report = fc.reporter(source)
    key_ctx = fc.context("roll `to` key", frozenset({Scope.CONTRACT}), lets)
    key, key_type = check(spec.key, key_ctx, report)
    if key_type is None:
        return None
    if not isinstance(key, FieldRef) or key.field is None or key.leg is not None:
        report(
            "E201",
            "a roll's `to` chooses by one contract field, e.g. `delta nearest ...`",
            spec.key.span,
            None,
        )
        return None
    target = None
    if spec.target is not None:
        ctx = fc.context("roll `to` target", EXIT_SCOPES, lets, names, names)
        target, target_type = check(spec.target, ctx, report)
        if target_type is None:
            return None
        if not comparable(key_type, target_type, "<"):
            report(
                "E201", f"`nearest` compares {key_type} with {target_type}", spec.target.span, None
            )
            return None
    return ast.Prefer(spec.span, spec.mode, key, target, 1)
