"""Checking `legs:` and `expiry:`: each leg's kind, side, `where` and `prefer`, in order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rulesengine.check import lints
from rulesengine.check.diagnostics import did_you_mean
from rulesengine.check.expiry import check_expiry
from rulesengine.check.expressions import check
from rulesengine.check.names import LEG_KINDS, STOCK_LOTS, Scope
from rulesengine.check.prefer import check_prefer
from rulesengine.check.program import Checked, Leg
from rulesengine.check.scopes import LEG_SCOPES
from rulesengine.check.types import Kind
from rulesengine.language import ast

if TYPE_CHECKING:
    from rulesengine.check.checker import _FileChecker as FileChecker


def check_legs(fc: FileChecker, model, root, program, lets, leg_names) -> None:
    section = root.get("legs")
    for index, name in enumerate(leg_names):
        node = section.get(name)
        source = fc.source(node)
        report = fc.reporter(source)
        spec = fc.parse(source, "leg")
        if not isinstance(spec, ast.LegSpec):
            continue
        kind = LEG_KINDS.get(spec.kind)
        if kind is None:
            report(
                "E105",
                f"unknown leg kind '{spec.kind}'",
                spec.kind_span,
                did_you_mean(spec.kind, ["put", "call", "stock", "shares", "future"])
                or "use put, call, stock (100 shares a count), shares or future",
            )
            continue
        side = spec.side or _side_from_name(name)
        if side is None:
            report(
                "E109",
                f"can't tell whether leg '{name}' is bought or sold",
                spec.kind_span,
                f"write `sell {spec.kind} ...` or `buy {spec.kind} ...`,"
                " or name the leg short_* / long_*",
            )
            continue
        # A stock leg has no contract row: its conditions read the underlying and account.
        scopes = LEG_SCOPES - {Scope.CONTRACT} if kind == "stock" else LEG_SCOPES
        ctx = fc.context(f"leg '{name}'", scopes, lets, leg_names[:index], leg_names)
        where = None
        if spec.where is not None:
            resolved, typ = check(spec.where, ctx, report)
            lints.lint_condition(resolved, report, source.text, kind, report.broken)
            if typ is not None and typ.kind is not Kind.BOOL:
                report(
                    "E202",
                    f"a leg's `where` must be true or false, but this is a {typ}",
                    spec.where.span,
                    None,
                )
            elif typ is not None:
                where = Checked(resolved, typ, source.text, source, f"legs.{name}")
        prefer = check_prefer(spec.prefer, ctx, report)
        fc.used_lets |= ctx.used_lets
        if (
            index > 0
            and where is not None
            and spec.prefer is None
            and not lints.has_equality_join(where.node)
        ):
            report(
                "W304",
                f"leg '{name}' pairs with every earlier candidate",
                spec.span,
                f"add an equality such as `expiry == {leg_names[0]}.expiry`, or a `prefer`",
            )
        depends_on = tuple(sorted(ctx.used_legs))
        count = spec.count * STOCK_LOTS.get(spec.kind, 1)  # a stock leg counts shares
        program.legs.append(
            Leg(name, side, count, kind, where, prefer, source.text, depends_on)
        )


def check_expiry_section(fc: FileChecker, root, program, lets) -> None:
    source = fc.source(root.get("expiry"))
    spec = fc.parse(source, "expiry_choice")
    if isinstance(spec, ast.ExpiryChoice):
        ctx = fc.context("`expiry`", LEG_SCOPES, lets)
        report = fc.reporter(source)
        program.expiry = check_expiry(spec, ctx, report, source)
        fc.used_lets |= ctx.used_lets


def _side_from_name(name: str) -> str | None:
    lowered = name.lower()
    if lowered.startswith("short"):
        return "sell"
    if lowered.startswith("long"):
        return "buy"
    return None
