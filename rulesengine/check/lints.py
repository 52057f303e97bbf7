"""Lints on checked conditions: empty ranges, contradictions, always-true, implausible values."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from rulesengine.check.names import Scope
from rulesengine.check.program import FieldRef, LetRef
from rulesengine.language import ast

Report = Callable[[str, str, ast.Span, str | None], None]

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def const_value(node: ast.Node | None) -> float | None:
    """The value of a constant numeric expression, or None."""
    match node:
        case ast.Number(value=v):
            return v
        case ast.Unary(op="-", operand=o):
            inner = const_value(o)
            return None if inner is None else -inner
        case ast.Binary(op=op, left=a, right=b):
            x, y = const_value(a), const_value(b)
            if x is None or y is None:
                return None
            if op == "+":
                return x + y
            if op == "-":
                return x - y
            if op in {"*", "of"}:
                return x * y
            if op == "/":
                return x / y if y else None
    return None


def subject_key(node: ast.Node) -> str | None:
    match node:
        case FieldRef(field=f, leg=leg) if f is not None:
            return f"{leg or ''}.{f.name}"
        case LetRef(name=name, leg=leg):
            return f"{leg or ''}.let.{name}"
    return None


@dataclass(frozen=True)
class Interval:
    lo: float
    hi: float
    lo_closed: bool = True
    hi_closed: bool = True

    def intersect(self, other: Interval) -> Interval:
        lo, lo_closed = max((self.lo, not self.lo_closed), (other.lo, not other.lo_closed))
        hi, hi_closed = min((self.hi, self.hi_closed), (other.hi, other.hi_closed))
        return Interval(lo, hi, not lo_closed, hi_closed)

    @property
    def empty(self) -> bool:
        return self.lo > self.hi or (self.lo == self.hi and not (self.lo_closed and self.hi_closed))

    def covers(self, other: Interval) -> bool:
        low_ok = self.lo < other.lo or (
            self.lo == other.lo and (self.lo_closed or not other.lo_closed)
        )
        high_ok = self.hi > other.hi or (
            self.hi == other.hi and (self.hi_closed or not other.hi_closed)
        )
        return low_ok and high_ok


def clause_interval(node: ast.Node) -> tuple[ast.Node, Interval] | None:
    """`subject op constant` or `subject between c1 and c2` as (subject, interval)."""
    inf = math.inf
    if isinstance(node, ast.Between) and not node.negated and node.subject is not None:
        lo, hi = const_value(node.low), const_value(node.high)
        if lo is not None and hi is not None:
            return node.subject, Interval(lo, hi)
    if isinstance(node, ast.Compare) and node.op not in {"!="}:
        subject, op, value = node.left, node.op, const_value(node.right)
        if value is None:
            subject, op, value = node.right, _FLIP[node.op], const_value(node.left)
        if value is None or subject is None or const_value(subject) is not None:
            return None
        intervals = {
            "<": Interval(-inf, value, hi_closed=False),
            "<=": Interval(-inf, value),
            ">": Interval(value, inf, lo_closed=False),
            ">=": Interval(value, inf),
            "==": Interval(value, value),
        }
        return subject, intervals[op]
    return None


def field_domain(subject: ast.Node, leg_kind: str | None) -> Interval | None:
    if not isinstance(subject, FieldRef) or subject.field is None:
        return None
    name = subject.field.name
    if name == "delta" and subject.leg is None and leg_kind in {"put", "call"}:
        return Interval(-1, 0) if leg_kind == "put" else Interval(0, 1)
    lo, hi = subject.field.domain
    if math.isinf(lo) and math.isinf(hi):
        return None
    return Interval(lo, hi)


def lint_condition(
    node: ast.Node,
    report: Report,
    text: str,
    leg_kind: str | None = None,
    broken: tuple[ast.Span, ...] = (),
) -> None:
    """Every lint on one checked condition; clauses overlapping a `broken` span are skipped
    (a clause with a type error would only repeat it as noise)."""
    operands = [c for c in ast.conjuncts(node) if not any(_overlaps(c.span, b) for b in broken)]
    running: dict[str, tuple[Interval, ast.Node]] = {}
    for clause in operands:
        if isinstance(clause, ast.Between):
            lo, hi = const_value(clause.low), const_value(clause.high)
            if lo is not None and hi is not None and lo > hi:
                assert clause.low is not None and clause.high is not None  # both are constants
                low_text, high_text = (
                    text[n.span[0] : n.span[1]] for n in (clause.low, clause.high)
                )
                report(
                    "E301",
                    f"empty range: nothing is between {low_text} and {high_text}",
                    clause.span,
                    f"write `between {high_text} and {low_text}`",
                )
                continue
        found = clause_interval(clause)
        if found is None:
            _constant_clause(clause, report)
            continue
        subject, interval = found
        key = subject_key(subject)
        if key is None:
            continue
        domain = field_domain(subject, leg_kind)
        if domain is not None and _domain_lint(
            clause, subject, interval, domain, leg_kind, report, text
        ):
            continue
        if key in running:
            combined = running[key][0].intersect(interval)
            if combined.empty:
                first = running[key][1]
                report(
                    "E302",
                    "contradiction: this can't hold together with "
                    f"`{text[first.span[0] : first.span[1]]}`",
                    clause.span,
                    "one of the two bounds is probably reversed",
                )
                continue
            running[key] = (combined, running[key][1])
        else:
            running[key] = (interval, clause)


def _overlaps(a: ast.Span, b: ast.Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _domain_lint(clause, subject, interval, domain, leg_kind, report, text) -> bool:
    name = subject.field.name
    if interval.intersect(domain).empty:
        if name == "delta" and leg_kind in {"put", "call"}:
            flipped = (
                f"-{interval.hi:g}..-{interval.lo:g}"
                if leg_kind == "put"
                else f"{-interval.hi:g}..{-interval.lo:g}"
            )
            sign = "negative" if leg_kind == "put" else "positive"
            report(
                "W302",
                f"{leg_kind} deltas are {sign}: this never matches",
                clause.span,
                f"did you mean {flipped}?",
            )
        elif subject.field.type.kind.value == "percent" and interval.lo >= 1:
            report(
                "W302",
                f"{name} is a share between 0% and 100%: this never matches",
                clause.span,
                f"did you mean {interval.lo:g}%?",
            )
        else:
            report(
                "W302",
                f"{name} is always between {domain.lo:g} and {domain.hi:g}: this never matches",
                clause.span,
                None,
            )
        return True
    if interval.covers(domain):
        report(
            "W301",
            f"always true: {name} is always between {domain.lo:g} and {domain.hi:g}",
            clause.span,
            "remove it, or tighten the bound",
        )
        return True
    return False


def _constant_clause(clause: ast.Node, report: Report) -> None:
    """A clause made only of constants (`2 > 1`, `true`) decides nothing."""
    if isinstance(clause, ast.Bool):
        report("W301", f"always {'true' if clause.value else 'false'}", clause.span, None)
    elif (
        isinstance(clause, ast.Compare)
        and const_value(clause.left) is not None
        and const_value(clause.right) is not None
    ):
        report(
            "W301", "this compares two constants: it never depends on the market", clause.span, None
        )
    elif (
        isinstance(clause, ast.Compare)
        and clause.op in {"==", "<=", ">="}
        and clause.left == clause.right
    ):
        report("W301", "always true: both sides are the same", clause.span, None)


def limits_loss(node: ast.Node) -> bool:
    """Whether an exit condition caps a loss: a `<`/`<=` bound on pnl, pnl_pct or mark."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Compare) and sub.op in {"<", "<=", ">", ">="}:
            low_side = sub.left if sub.op in {"<", "<="} else sub.right
            for part in ast.walk(low_side):
                if (
                    isinstance(part, FieldRef)
                    and part.field is not None
                    and part.field.scope is Scope.POSITION
                    and part.field.name in {"pnl", "pnl_pct"}
                ):
                    return True
            high_side = sub.right if sub.op in {"<", "<="} else sub.left
            for part in ast.walk(high_side):
                if (
                    isinstance(part, FieldRef)
                    and part.field is not None
                    and part.field.name in {"mark", "max_loss"}
                ):
                    return True
    return False


def has_equality_join(where: ast.Node | None) -> bool:
    """Whether a leg's condition pins it to another leg with an equality."""
    if where is None:
        return False
    for clause in ast.conjuncts(where):
        if isinstance(clause, ast.Compare) and clause.op == "==":
            sides = (clause.left, clause.right)
            own = any(isinstance(s, FieldRef) and s.leg is None for s in sides)
            other = any(
                isinstance(p, FieldRef) and p.leg is not None for s in sides for p in ast.walk(s)
            )
            if own and other:
                return True
    return False


def bounded_loss(legs) -> bool:
    """True when the structure itself caps the loss at what was paid or the spreads' widths:
    only bought options, or every sold option covered by a bought one of the same type
    (verticals, condors, butterflies). Stock, futures or a naked short leave W303 to ask for
    a stop."""
    if not legs or any(leg.kind in {"stock", "future"} for leg in legs):
        return False
    for kind in ("put", "call"):
        sold = sum(leg.count for leg in legs if leg.kind == kind and leg.side == "sell")
        bought = sum(leg.count for leg in legs if leg.kind == kind and leg.side == "buy")
        if sold > bought:
            return False
    return True
