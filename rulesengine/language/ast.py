"""AST of the rule DSL: frozen dataclasses, each carrying its span inside the expression text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

Span = tuple[int, int]  # [start, end) character offsets inside one expression's text


@dataclass(frozen=True)
class Node:
    span: Span = field(compare=False, repr=False)


# ---------------------------------------------------------------- literals
@dataclass(frozen=True)
class Number(Node):
    """A numeric literal; `unit` is '', '$', '%' or 'duration' (value then in seconds)."""

    value: float = 0.0
    unit: str = ""
    text: str = ""


@dataclass(frozen=True)
class DateLit(Node):
    value: date = date(1970, 1, 1)


@dataclass(frozen=True)
class TimeLit(Node):
    minutes: int = 0  # minutes after midnight, exchange time


@dataclass(frozen=True)
class String(Node):
    value: str = ""


@dataclass(frozen=True)
class Bool(Node):
    value: bool = False


# ---------------------------------------------------------------- references
@dataclass(frozen=True)
class Name(Node):
    """A bare name: a field, a `let`, or an enum value such as `put`; the checker decides."""

    name: str = ""


@dataclass(frozen=True)
class Attr(Node):
    """`short.delta`: a field of another leg (or of `underlying`)."""

    owner: str = ""
    name: str = ""
    owner_span: Span = field(default=(0, 0), compare=False, repr=False)
    name_span: Span = field(default=(0, 0), compare=False, repr=False)


@dataclass(frozen=True)
class Call(Node):
    func: str = ""
    args: tuple[Node, ...] = ()
    func_span: Span = field(default=(0, 0), compare=False, repr=False)


# ---------------------------------------------------------------- operators
@dataclass(frozen=True)
class Unary(Node):
    op: str = "-"  # '-', '+', 'not'
    operand: Node | None = None


@dataclass(frozen=True)
class Binary(Node):
    op: str = "+"  # '+', '-', '*', '/', 'of'
    left: Node | None = None
    right: Node | None = None


@dataclass(frozen=True)
class Compare(Node):
    op: str = "=="
    left: Node | None = None
    right: Node | None = None


@dataclass(frozen=True)
class Between(Node):
    subject: Node | None = None
    low: Node | None = None
    high: Node | None = None
    negated: bool = False


@dataclass(frozen=True)
class InList(Node):
    subject: Node | None = None
    items: tuple[Node, ...] = ()
    negated: bool = False


@dataclass(frozen=True)
class BoolOp(Node):
    """`and` / `or` over two or more operands, flattened."""

    op: str = "and"
    operands: tuple[Node, ...] = ()


# ---------------------------------------------------------------- sections
@dataclass(frozen=True)
class Prefer(Node):
    """`prefer delta nearest -0.25 keep 2`, `prefer highest open_interest`."""

    mode: str = "nearest"  # 'nearest', 'highest', 'lowest'
    key: Node | None = None
    target: Node | None = None
    keep: int = 1


@dataclass(frozen=True)
class ExpiryChoice(Node):
    """`expiry: where is_monthly prefer dte nearest 45`: one expiry per underlying."""

    where: Node | None = None
    prefer: Prefer | None = None


@dataclass(frozen=True)
class LegSpec(Node):
    side: str | None = None  # 'buy', 'sell' or None (taken from the leg's name)
    count: int = 1
    kind: str = "put"
    kind_span: Span = field(default=(0, 0), compare=False, repr=False)
    where: Node | None = None
    prefer: Prefer | None = None


@dataclass(frozen=True)
class Schedule(Node):
    """One schedule: kind 'every' | 'at' | 'before_close' | 'after_open' | 'cron'."""

    kind: str = "every"
    interval_s: float = 0.0
    times: tuple[int, ...] = ()  # minutes after midnight
    window: str | None = None  # named session window, e.g. 'regular_hours'
    window_span: Span = field(default=(0, 0), compare=False, repr=False)
    between: tuple[int, int] | None = None
    cron: str = ""


@dataclass(frozen=True)
class Breaker(Node):
    condition: Node | None = None
    action: str = "halt"
    action_span: Span = field(default=(0, 0), compare=False, repr=False)
    duration_s: float | None = None


@dataclass(frozen=True)
class ExitRule(Node):
    """`condition -> close 25%` (amount 0.25, percent), `-> close 1` (contracts) or
    `-> roll`."""

    condition: Node | None = None
    action: str = "close"
    amount: float = 1.0
    percent: bool = True
    amount_span: Span = field(default=(0, 0), compare=False, repr=False)


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of a node, in source order."""
    match node:
        case Unary(operand=o):
            return (o,) if o is not None else ()
        case Binary(left=a, right=b) | Compare(left=a, right=b):
            return tuple(x for x in (a, b) if x is not None)
        case Between(subject=s, low=lo, high=hi):
            return tuple(x for x in (s, lo, hi) if x is not None)
        case InList(subject=s, items=items):
            return (s, *items) if s is not None else items
        case BoolOp(operands=ops):
            return ops
        case Call(args=args):
            return args
        case Prefer(key=k, target=t):
            return tuple(x for x in (k, t) if x is not None)
        case LegSpec(where=w, prefer=p):
            return tuple(x for x in (w, p) if x is not None)
        case Breaker(condition=c):
            return (c,) if c is not None else ()
    return ()


def walk(node: Node | None) -> Iterator[Node]:
    """Every node of a tree, parents before children (iterative: trees may be deep); an
    absent operand (a tree the parser could only partly build) has none."""
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def conjuncts(node: Node) -> tuple[Node, ...]:
    """The top-level `and` operands of a condition (the condition itself if it is no `and`)."""
    if isinstance(node, BoolOp) and node.op == "and":
        return node.operands
    return (node,)
