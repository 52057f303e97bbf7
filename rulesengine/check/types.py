"""The DSL's types and the unit algebra: what `+`, `*`, `of` and comparisons accept."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    NUMBER = "number"
    MONEY = "money"
    PERCENT = "percent"
    BOOL = "bool"
    DURATION = "duration"
    DATE = "date"
    TIME = "time"
    ENUM = "enum"
    STRING = "string"


@dataclass(frozen=True)
class Type:
    kind: Kind
    enum: str | None = None  # the enum's name when kind is ENUM
    literal: bool = False  # a bare number literal: it takes the unit of what it meets

    def __str__(self) -> str:
        return self.enum if self.kind is Kind.ENUM and self.enum else self.kind.value

    def plain(self) -> Type:
        return Type(self.kind, self.enum)


NUMBER, MONEY, PERCENT = Type(Kind.NUMBER), Type(Kind.MONEY), Type(Kind.PERCENT)
BOOL, DURATION, DATE, TIME = Type(Kind.BOOL), Type(Kind.DURATION), Type(Kind.DATE), Type(Kind.TIME)
STRING = Type(Kind.STRING)
LITERAL_NUMBER = Type(Kind.NUMBER, literal=True)


def enum(name: str) -> Type:
    return Type(Kind.ENUM, name)


RATIO = {Kind.NUMBER, Kind.PERCENT}  # a percentage is a number shown as a share
NUMERIC = {Kind.NUMBER, Kind.PERCENT, Kind.MONEY, Kind.DURATION}
ORDERED = NUMERIC | {Kind.DATE, Kind.TIME}


class UnitError(Exception):
    """An operation that makes no sense for these units; the message is for the trader."""


def _adopt(a: Type, b: Type) -> tuple[Type, Type]:
    """A bare number literal takes the unit of its partner: `strike - 5` is `strike - $5`."""
    if a.literal and not b.literal and b.kind in {Kind.MONEY, Kind.PERCENT, Kind.NUMBER}:
        return b.plain(), b
    if b.literal and not a.literal and a.kind in {Kind.MONEY, Kind.PERCENT, Kind.NUMBER}:
        return a, a.plain()
    return a, b


def arithmetic(op: str, left: Type, right: Type) -> Type:
    """The type of `left op right`, or UnitError."""
    both_literal = left.literal and right.literal
    # Only sums adopt units: in `-2 * entry_credit` the 2 is a factor, not $2.
    a, b = _adopt(left, right) if op in "+-" else (left.plain(), right.plain())
    ka, kb = a.kind, b.kind
    result: Type | None = None
    if op in "+-":
        if ka == kb and ka in NUMERIC:
            result = a.plain()
        elif {ka, kb} <= RATIO:
            result = NUMBER
        elif ka in {Kind.DATE, Kind.TIME} and kb is Kind.DURATION:
            result = a.plain()
        elif op == "-" and ka is Kind.DATE and kb is Kind.DATE:
            result = DURATION
    elif op == "*":
        if {ka, kb} <= RATIO:
            result = PERCENT if ka is kb is Kind.PERCENT else NUMBER
        elif ka in {Kind.MONEY, Kind.DURATION} and kb in RATIO:
            result = a.plain()
        elif kb in {Kind.MONEY, Kind.DURATION} and ka in RATIO:
            result = b.plain()
    elif op == "/":
        if {ka, kb} <= RATIO or (ka == kb and ka in NUMERIC):
            result = NUMBER
        elif ka in {Kind.MONEY, Kind.DURATION} and kb in RATIO:
            result = a.plain()
        elif ka in RATIO and kb is Kind.MONEY:
            result = NUMBER  # a score per dollar, as used in ranking
    elif op == "of":
        if left.kind is not Kind.PERCENT or left.literal:
            raise UnitError("`of` takes a percentage on its left, e.g. `50% of max_profit`")
        if right.kind in NUMERIC:
            result = right.plain()
    if result is None:
        raise UnitError(_mismatch(op, left, right))
    return Type(result.kind, result.enum, literal=both_literal)


def _mismatch(op: str, left: Type, right: Type) -> str:
    verb = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "of": "take"}[op]
    joiner = {"+": "and", "-": "from", "*": "by", "/": "by", "of": "of"}[op]
    if op == "-":
        return f"can't subtract {right} from {left}"
    return f"can't {verb} {left} {joiner} {right}"


def comparable(left: Type, right: Type, op: str) -> bool:
    """Whether `left op right` compares like with like."""
    a, b = _adopt(left, right)
    if op not in {"==", "!="} and not (a.kind in ORDERED and b.kind in ORDERED):
        return False
    if a.kind == b.kind:
        return a.kind is not Kind.ENUM or a.enum == b.enum
    return {a.kind, b.kind} <= RATIO


def negate(operand: Type) -> Type:
    if operand.kind not in NUMERIC:
        raise UnitError(f"can't negate a {operand}")
    return operand


def unify(types: list[Type]) -> Type:
    """One type for min/max/if-like arguments, or UnitError."""
    concrete = [t for t in types if not t.literal] or types
    first = concrete[0]
    for other in types:
        if not comparable(first, other, "=="):
            raise UnitError(f"can't mix {first} and {other}")
    if all(t.kind in RATIO for t in concrete) and len({t.kind for t in concrete}) > 1:
        return NUMBER
    return Type(first.kind, first.enum, literal=all(t.literal for t in types))
