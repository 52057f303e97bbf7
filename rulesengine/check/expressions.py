"""Type-check one expression: resolve names by scope, apply the unit algebra, report problems."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from rulesengine.check import calls, comparisons
from rulesengine.check import types as t
from rulesengine.check.diagnostics import did_you_mean
from rulesengine.check.names import (
    ENUMS,
    FIELDS,
    FIELDS_BY_NAME,
    FUNCTIONS,
    POSITION_ALIASES,
    Field,
    Scope,
)
from rulesengine.check.program import EnumLit, FieldRef, LetRef
from rulesengine.check.timeframes import DAILY, Timeframe
from rulesengine.check.types import Kind, Type, UnitError
from rulesengine.language import ast

Report = Callable[[str, str, ast.Span, str | None], None]  # code, message, span, hint


@dataclass(frozen=True)
class LetInfo:
    type: Type
    scopes: frozenset[Scope]
    # reads a name that is a contract field and a position field alike (`dte`): usable in
    # a leg's `where` and in exits, wherever one of the two is visible
    neutral: bool = False
    # the checked indicator call when the let is one (`fast: ema(close, 9)`): usable where a
    # series belongs, `crosses_above(fast, slow)`
    series: ast.Node | None = None


@dataclass
class Context:
    """What an expression may see: scopes, earlier legs, let names."""

    section: str  # for messages: 'entry conditions', 'leg short', ...
    scopes: frozenset[Scope]
    legs: tuple[str, ...] = ()  # legs this expression may name (those above it)
    all_legs: tuple[str, ...] = ()  # every leg of the file, for 'defined later' messages
    lets: dict[str, LetInfo] = field(default_factory=dict)
    used_scopes: set[Scope] = field(default_factory=set)
    used_lets: set[str] = field(default_factory=set)
    used_legs: set[str] = field(default_factory=set)
    used_neutral: bool = False  # read a name both contracts and positions have (`dte`)
    broken_lets: frozenset[str] = frozenset()  # lets with errors: their uses say nothing more
    bars: Timeframe = DAILY  # the file's default timeframe (`bars:`)


def check(node: ast.Node, ctx: Context, report: Report) -> tuple[ast.Node, Type | None]:
    """Resolve and type one expression; a None type means an error was already reported."""
    return _Checker(ctx, report).visit(node)


class _Checker:
    def __init__(self, ctx: Context, report: Report):
        self.ctx = ctx
        self.report = report

    # ---------------------------------------------------------------- dispatch
    def visit(
        self, node: ast.Node | None, enum_hint: Type | None = None
    ) -> tuple[ast.Node, Type | None]:
        if node is None:
            raise AssertionError("the parser builds every operand")
        match node:
            case ast.Number(unit="ticks"):
                self.report(
                    "E111",
                    f"'{node.text}' (a tick count) only names the timeframe of an indicator",
                    node.span,
                    "e.g. ema(close, 9, 512t)",
                )
                return node, None
            case ast.Number(unit=unit):
                kind = {"$": t.MONEY, "%": t.PERCENT, "duration": t.DURATION}.get(
                    unit, t.LITERAL_NUMBER
                )
                return node, kind
            case ast.Bool():
                return node, t.BOOL
            case ast.String():
                return node, t.STRING
            case ast.DateLit():
                return node, t.DATE
            case ast.TimeLit():
                return node, t.TIME
            case ast.Name():
                return self.name(node, enum_hint)
            case ast.Attr():
                return self.attr(node)
            case ast.Call():
                return self.call(node)
            case ast.Unary():
                return self.unary(node)
            case ast.Binary():
                return self.binary(node)
            case ast.Compare():
                return comparisons.compare(self, node)
            case ast.Between():
                return comparisons.between(self, node)
            case ast.InList():
                return comparisons.in_list(self, node)
            case ast.BoolOp():
                return self.bool_op(node)
        self.report("E101", f"unexpected {type(node).__name__} here", node.span, None)
        return node, None

    # ---------------------------------------------------------------- names
    def field_visible(self, f: Field) -> bool:
        return f.scope in self.ctx.scopes

    def lookup_field(self, name: str) -> Field | None:
        if Scope.POSITION in self.ctx.scopes and name in POSITION_ALIASES:
            return POSITION_ALIASES[name]
        return FIELDS_BY_NAME.get(name)

    def _neutral(self, name: str) -> bool:
        """A `let` (which sees every scope) reading `dte`: contract and position alike."""
        contract = FIELDS_BY_NAME.get(name)
        return (
            {Scope.CONTRACT, Scope.POSITION} <= self.ctx.scopes
            and name in POSITION_ALIASES
            and contract is not None
            and contract.scope is Scope.CONTRACT
            and contract.type == POSITION_ALIASES[name].type
        )

    def name(self, node: ast.Name, enum_hint: Type | None) -> tuple[ast.Node, Type | None]:
        name = node.name
        if name in self.ctx.lets:
            return self.let_ref(node, name, None)
        if name in self.ctx.broken_lets:
            return node, None  # the `let` itself was reported
        found = self.lookup_field(name)
        if self._neutral(name):
            self.ctx.used_neutral = True
            return FieldRef(node.span, FIELDS_BY_NAME[name], None), FIELDS_BY_NAME[name].type
        if found is not None and self.field_visible(found):
            self.ctx.used_scopes.add(found.scope)
            return FieldRef(node.span, found, None), found.type
        if enum_hint is not None and enum_hint.kind in {Kind.ENUM, Kind.STRING}:
            return self.enum_literal(node, enum_hint)
        if found is not None:
            self.report("E107", *self.not_here(found, node.span))
            return node, None
        if name in FUNCTIONS:
            self.report("E104", f"'{name}' is a function", node.span, f"call it: {name}(...)")
            return node, None
        self.report("E102", f"unknown name '{name}'", node.span, self.suggest(name))
        return node, None

    def not_here(self, found: Field, span: ast.Span) -> tuple[str, ast.Span, str | None]:
        article = "an" if str(found.scope)[0] in "aeiou" else "a"
        message = (
            f"'{found.name}' is {article} {found.scope} field, not available in {self.ctx.section}"
        )
        hint = None
        if found.scope is Scope.CONTRACT and self.ctx.legs:
            hint = f"name the leg: {self.ctx.legs[0]}.{found.name}"
        elif found.scope is Scope.CONTRACT:
            hint = "contract fields belong in a leg's `where`"
        return message, span, hint

    def suggest(self, name: str) -> str | None:
        visible = [f.name for f in FIELDS if self.field_visible(f)]
        if Scope.POSITION in self.ctx.scopes:
            visible += list(POSITION_ALIASES)
        hint = did_you_mean(name, [*visible, *self.ctx.lets])
        return hint or did_you_mean(name, [f.name for f in FIELDS])

    def enum_literal(self, node: ast.Name, hint_type: Type) -> tuple[ast.Node, Type | None]:
        if hint_type.kind is Kind.STRING:
            return ast.String(node.span, node.name), t.STRING
        members = ENUMS[hint_type.enum or ""]
        if node.name.lower() in members:
            return EnumLit(node.span, node.name.lower()), hint_type
        choices = ", ".join(members)
        hint = did_you_mean(node.name, members) or f"one of: {choices}"
        self.report("E102", f"'{node.name}' is not a {hint_type}", node.span, hint)
        return node, None

    def let_ref(self, node: ast.Node, name: str, leg: str | None) -> tuple[ast.Node, Type | None]:
        info = self.ctx.lets[name]
        self.ctx.used_lets.add(name)
        allowed = (
            self.ctx.scopes
            if leg is None
            else frozenset({Scope.CONTRACT, Scope.UNDERLYING, Scope.PORTFOLIO})
        )
        missing = info.scopes - allowed
        if info.neutral and not allowed & {Scope.CONTRACT, Scope.POSITION}:
            missing = missing | {Scope.CONTRACT}
        if missing:
            scope = sorted(missing)[0]
            hint = (
                f"use it in a leg's `where`, or as {self.ctx.legs[0]}.{name}"
                if scope == Scope.CONTRACT and self.ctx.legs
                else None
            )
            self.report(
                "E107",
                f"`let` '{name}' uses {scope} fields, not available in {self.ctx.section}",
                node.span,
                hint,
            )
            return node, None
        self.ctx.used_scopes.update(info.scopes)
        self.ctx.used_neutral |= info.neutral
        return LetRef(node.span, name, leg), info.type

    def attr(self, node: ast.Attr) -> tuple[ast.Node, Type | None]:
        owner, name = node.owner, node.name
        if owner == "underlying":
            found = FIELDS_BY_NAME.get(name)
            if found is None or found.scope is not Scope.UNDERLYING:
                hint = did_you_mean(name, [f.name for f in FIELDS if f.scope is Scope.UNDERLYING])
                self.report("E102", f"unknown underlying field '{name}'", node.name_span, hint)
                return node, None
            if Scope.UNDERLYING not in self.ctx.scopes:
                self.report("E107", *self.not_here(found, node.span))
                return node, None
            self.ctx.used_scopes.add(Scope.UNDERLYING)
            return FieldRef(node.span, found, None), found.type
        if owner not in self.ctx.legs:
            if owner in self.ctx.all_legs and self.ctx.section.startswith("`let`"):
                message = f"leg '{owner}' can't be named inside a `let`"
                hint = f"write the `let` for one contract (`{name} ...`) and use it as {owner}.NAME"
            elif owner in self.ctx.all_legs:
                message = f"leg '{owner}' can't be used here"
                hint = "a leg can only refer to legs defined above it"
                if (
                    not self.ctx.section.startswith("leg ")
                    and Scope.STRUCTURE not in self.ctx.scopes
                ):
                    hint = f"{self.ctx.section} can't refer to legs"
            else:
                message = f"no leg named '{owner}'"
                hint = did_you_mean(owner, [*self.ctx.all_legs, "underlying"])
                if owner in {"account", "portfolio", "position", "strategy"}:
                    hint = f"{owner} names are written plainly: `{name}`, not `{owner}.{name}`"
            self.report("E106", message, node.owner_span, hint)
            return node, None
        self.ctx.used_legs.add(owner)
        if name in self.ctx.lets:
            return self.let_ref(node, name, owner)
        if name in self.ctx.broken_lets:
            return node, None
        found = FIELDS_BY_NAME.get(name)
        if found is None or found.scope is not Scope.CONTRACT:
            hint = did_you_mean(name, [f.name for f in FIELDS if f.scope is Scope.CONTRACT])
            self.report(
                "E102", f"unknown contract field '{name}' on leg '{owner}'", node.name_span, hint
            )
            return node, None
        return FieldRef(node.span, found, owner), found.type

    # ---------------------------------------------------------------- calls
    def call(self, node: ast.Call) -> tuple[ast.Node, Type | None]:
        return calls.check_call(self, node)

    # ---------------------------------------------------------------- operators
    def unary(self, node: ast.Unary) -> tuple[ast.Node, Type | None]:
        operand, typ = self.visit(node.operand)
        node = replace(node, operand=operand)
        if typ is None:
            return node, None
        if node.op == "not":
            return node, self.require_bool(operand, typ, "`not` applies to a condition")
        try:
            return node, t.negate(typ)
        except UnitError as error:
            self.report("E201", str(error), node.span, None)
            return node, None

    def binary(self, node: ast.Binary) -> tuple[ast.Node, Type | None]:
        left, lt = self.visit(node.left)
        right, rt = self.visit(node.right)
        node = replace(node, left=left, right=right)
        if lt is None or rt is None:
            return node, None
        try:
            return node, t.arithmetic(node.op, lt, rt)
        except UnitError as error:
            self.report("E201", str(error), node.span, _unit_hint(node, lt, rt))
            return node, None

    def bool_op(self, node: ast.BoolOp) -> tuple[ast.Node, Type | None]:
        operands, ok = [], True
        for operand in node.operands:
            resolved, typ = self.visit(operand)
            operands.append(resolved)
            if (
                typ is None
                or self.require_bool(resolved, typ, f"`{node.op}` joins conditions") is None
            ):
                ok = False
        return replace(node, operands=tuple(operands)), (t.BOOL if ok else None)

    def require_bool(self, node: ast.Node, typ: Type, why: str) -> Type | None:
        if typ.kind is Kind.BOOL:
            return typ
        self.report(
            "E202", f"{why}, but this is a {typ}", node.span, "compare it, e.g. `... >= 0.5`"
        )
        return None


def _unit_hint(node: ast.Binary, lt: Type, rt: Type) -> str | None:
    if node.op == "of":
        return "write the share as a percentage: 50% of max_profit"
    if {lt.kind, rt.kind} == {Kind.MONEY} and node.op == "*":
        return "multiply money by a number or a percentage"
    if Kind.DURATION in {lt.kind, rt.kind}:
        return "durations need a unit: 30s, 5m, 2h, 1d"
    return None
