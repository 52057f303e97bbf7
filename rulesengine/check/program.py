"""The checked program: resolved expression nodes plus everything the compiler needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rulesengine.check.names import Field
from rulesengine.check.timeframes import DAILY, Timeframe
from rulesengine.check.types import Type
from rulesengine.language import ast
from rulesengine.language.yaml_source import LineIndex, YNode


@dataclass(frozen=True)
class FieldRef(ast.Node):
    """A registry field; `leg` names the leg it is read from (None: the row being filtered)."""

    field: Field | None = None
    leg: str | None = None


@dataclass(frozen=True)
class LetRef(ast.Node):
    name: str = ""
    leg: str | None = None


@dataclass(frozen=True)
class EnumLit(ast.Node):
    value: str = ""


@dataclass(frozen=True)
class SeriesRef(ast.Node):
    """A daily bar series inside an indicator call: close, open, high, low, underlying_volume."""

    name: str = ""


@dataclass(frozen=True)
class Source:
    """Where an expression's text lives, so spans map back to file:line:col."""

    file: str
    text: str
    node: YNode | None
    lines: LineIndex | None

    def offsets(self, span: ast.Span) -> tuple[int, int]:
        if self.node is None:
            return span
        start = self.node.source_offset(span[0])
        last = self.node.source_offset(max(span[1] - 1, span[0]))
        return start, last + 1

    def location(self, span: ast.Span) -> tuple[int, int, int, int]:
        start, end = self.offsets(span)
        if self.lines is None:
            return 1, span[0] + 1, 1, span[1] + 1
        a, b = self.lines.position(start), self.lines.position(end)
        return a.line, a.col, b.line, b.col


@dataclass(frozen=True)
class Checked:
    """One expression after checking: the resolved tree, its type and its source."""

    node: ast.Node
    type: Type
    text: str
    source: Source
    label: str  # e.g. 'entry[2]', 'legs.short', 'let.liquid'

    def clause_text(self, span: ast.Span) -> str:
        return self.text[span[0] : span[1]]


@dataclass(frozen=True)
class Leg:
    name: str
    side: str  # 'buy' | 'sell'
    count: int  # contracts; for a stock leg, shares (`buy stock` 100, `buy 50 shares` 50)
    kind: str  # 'put' | 'call' | 'stock'
    where: Checked | None
    prefer: ast.Prefer | None  # resolved key/target nodes
    text: str  # the leg as written, for funnels and explain
    depends_on: tuple[str, ...]  # earlier legs this leg's conditions mention

    @property
    def prefer_text(self) -> str:
        """`delta nearest -0.25` from `put where ... prefer delta nearest -0.25`."""
        if self.prefer is None:
            return ""
        return self.text[self.prefer.span[0] : self.prefer.span[1]].removeprefix("prefer").strip()

    @property
    def sign(self) -> int:
        return -1 if self.side == "sell" else 1


@dataclass(frozen=True)
class ExpiryRule:
    """`expiry: where ... prefer ...`: one expiry per underlying, before the legs."""

    where: Checked | None  # the condition on contracts (and so on their expiries)
    prefer: ast.Prefer  # resolved key (expiry-level) and target
    text: str  # as written, for the funnel

    @property
    def label(self) -> str:
        return f"expiry: {self.text}"

    @property
    def prefer_text(self) -> str:
        return self.text[self.prefer.span[0] : self.prefer.span[1]]


@dataclass(frozen=True)
class ExitSize:
    """How much a partial exit closes: a share of the position's current quantity (`close
    25%`, rounded down, at least one contract) or a number of contracts (`close 1`)."""

    amount: float
    percent: bool

    def contracts(self, held: int) -> int:
        if self.percent:
            return max(1, min(held, int(held * self.amount + 1e-9)))
        return min(held, int(self.amount))

    def __str__(self) -> str:
        return f"close {self.amount:.0%}" if self.percent else f"close {int(self.amount)}"


@dataclass(frozen=True)
class Channel:
    """A notification channel of a portfolio file's `notify:` section. `url` keeps its
    `${ENV_VAR}` references: secrets are read when the engine starts, never stored."""

    name: str
    url: str
    events: frozenset[str]
    severity: str  # the lowest severity sent: info | warning | critical


@dataclass(frozen=True)
class JobTime:
    """When a report runs, New York time: every session day, or one weekday (0 = Monday)."""

    hour: int
    minute: int
    weekday: int | None = None

    def __str__(self) -> str:
        day = "" if self.weekday is None else WEEKDAYS[self.weekday] + " "
        return f"{day}{self.hour:02d}:{self.minute:02d}"


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass
class Program:
    file: str
    text: str
    name: str
    kind: str  # 'strategy' | 'portfolio'
    description: str = ""
    universe: tuple[str, ...] = ()  # empty: every underlying in the data
    universe_label: str = ""  # the funnel's step, e.g. `underlying in sp500.txt (503 symbols)`
    bars: Timeframe = DAILY  # the timeframe of indicators that name none
    lets: dict[str, Checked] = field(default_factory=dict)
    underlying: list[Checked] = field(default_factory=list)
    expiry: ExpiryRule | None = None  # one expiry per underlying, before the legs
    legs: list[Leg] = field(default_factory=list)
    entry: list[Checked] = field(default_factory=list)
    rank: Checked | None = None
    size: dict[str, Checked | int] = field(default_factory=dict)
    exits: dict[str, Checked] = field(default_factory=dict)
    exit_sizes: dict[str, ExitSize] = field(default_factory=dict)  # partial exits only
    exit_rolls: tuple[str, ...] = ()  # exits that roll (`-> roll`) instead of closing
    roll: Checked | None = None  # when to roll; targets come from the legs and entry rules
    roll_credit_only: bool = False
    roll_fallback: tuple[str, ...] = ()
    roll_legs: tuple[str, ...] = ()  # the legs a roll moves; empty: all of them
    roll_to: ast.Prefer | None = None  # the moved sold leg's target (key: a contract field)
    roll_expiry: str = "later"  # 'same' | 'later'
    holdings_from: tuple[str, ...] = ()  # strategies whose assigned shares this one reads
    on_assignment: str | None = None  # 'scan': an assignment in the group triggers a scan
    hedge: dict | None = None  # {low, high, to, every}: the delta band (see check.hedge)

    sectors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    paper: dict[str, Any] | None = None  # portfolio files: cash, option_level, margin
    limits: dict[str, Checked | int] = field(default_factory=dict)
    breakers: dict[str, Checked] = field(default_factory=dict)  # each node is an ast.Breaker
    schedules: dict[str, ast.Schedule] = field(default_factory=dict)
    notify: dict[str, Channel] = field(default_factory=dict)  # portfolio files
    order: dict[str, Any] = field(default_factory=dict)  # tif, timeout (s), max_working
    reports: dict[str, JobTime] = field(default_factory=dict)  # 'daily' | 'review' -> when
