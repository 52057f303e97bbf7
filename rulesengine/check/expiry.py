"""The `expiry:` section: one expiry per underlying, chosen before any leg's strikes.

    expiry: where is_monthly prefer dte nearest 45

The `where` condition reads contract, underlying and account names (a contract passes it,
and so does its expiry); the preference must be the same for every contract of one expiry,
so it may read only expiry-level fields (`dte`, `trading_dte`, `expiry`, ...): E110 otherwise.
"""

from __future__ import annotations

from rulesengine.check import lints
from rulesengine.check.expressions import Context, check
from rulesengine.check.names import Scope
from rulesengine.check.prefer import check_prefer
from rulesengine.check.program import Checked, ExpiryRule, FieldRef, Source
from rulesengine.check.types import Kind
from rulesengine.language import ast

# contract fields that are the same for every contract of one expiry of one underlying
EXPIRY_LEVEL = frozenset(
    {"dte", "trading_dte", "expiry", "expiry_cycle", "is_monthly", "expiry_week_of_month"}
)


def check_expiry(spec: ast.ExpiryChoice, ctx: Context, report, source: Source):
    """The section's rule, or None when it has errors (reported through `report`)."""
    where = None
    if spec.where is not None:
        resolved, typ = check(spec.where, ctx, report)
        if typ is None:
            return None
        if typ.kind is not Kind.BOOL:
            report(
                "E202",
                f"`expiry`'s `where` must be true or false, but this is a {typ}",
                spec.where.span,
                None,
            )
            return None
        lints.lint_condition(resolved, report, source.text, None, report.broken)
        where = Checked(resolved, typ, source.text, source, "expiry")
    prefer = check_prefer(spec.prefer, ctx, report)
    if prefer is None or prefer.key is None:
        return None
    for node in ast.walk(prefer.key):
        if not isinstance(node, FieldRef) or node.field is None:
            continue
        if node.field.scope is not Scope.CONTRACT:
            continue
        if node.field.name not in EXPIRY_LEVEL:
            report(
                "E110",
                f"`expiry` prefers by '{node.field.name}', which differs between the contracts "
                "of one expiry",
                node.span,
                f"prefer by an expiry field: {', '.join(sorted(EXPIRY_LEVEL))}",
            )
            return None
    if prefer.keep != 1:
        report("E110", "`expiry` chooses one expiry: `keep` does not apply", prefer.span, None)
        return None
    return ExpiryRule(where, prefer, source.text)
