"""Type-check one expression: resolve names by scope, apply the unit algebra, report problems."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from rulesengine.check import bar_calls
from rulesengine.check import types as t
from rulesengine.check.diagnostics import did_you_mean
from rulesengine.check.names import (
    ENUMS,
    FIELDS,
    FIELDS_BY_NAME,
    FUNCTIONS,
    POSITION_ALIASES,
    Field,
    Function,
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
                return self.compare(node)
            case ast.Between():
                return self.between(node)
            case ast.InList():
                return self.in_list(node)
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
        func = FUNCTIONS.get(node.func)
        if func is None:
            self.report(
                "E103",
                f"unknown function '{node.func}'",
                node.func_span,
                did_you_mean(node.func, FUNCTIONS),
            )
            return node, None
        if func.scope is not None and func.scope not in self.ctx.scopes:
            self.report(
                "E107",
                f"'{func.name}' reads {func.scope} data, not available in {self.ctx.section}",
                node.func_span,
                None,
            )
            return node, None
        given, timeframe, timeframe_ok = bar_calls.split_timeframe(func, node, self.report)
        arity_ok = (
            len(given) >= len(func.params) if func.variadic else len(given) == len(func.params)
        )
        if not arity_ok:
            wanted = f"at least {len(func.params)}" if func.variadic else str(len(func.params))
            signature = f"{func.name}({', '.join(func.params)})"
            if func.reads_bars and not func.daily:
                signature = f"{func.name}({', '.join((*func.params, 'timeframe'))}) or {signature}"
            self.report(
                "E104",
                f"'{func.name}' takes {wanted} arguments, got {len(given)}",
                node.span,
                f"write {signature}",
            )
            return node, None
        params = func.params + (func.params[-1],) * (len(given) - len(func.params))
        args, arg_types = [], []
        for param, arg in zip(params, given, strict=True):
            resolved, typ = self.argument(func.name, param, arg)
            args.append(resolved)
            arg_types.append(typ)
        args += node.args[len(given) :]  # the timeframe literal, kept for the compiler
        if func.scope is not None:
            self.ctx.used_scopes.add(func.scope)
        checked = replace(node, args=tuple(args))
        if func.reads_bars and not (
            bar_calls.check_mixing(node, self.report)
            and bar_calls.check_lookback(node, timeframe or self.ctx.bars, self.report)
        ):
            return checked, None
        if not timeframe_ok or any(a is None for a in arg_types):
            return checked, None
        return checked, self.call_result(func, node, params, arg_types)

    def call_result(
        self, func: Function, node: ast.Call, params: tuple[str, ...], arg_types: list
    ) -> Type | None:
        numeric = [  # every type is known here: an unknown one returned above
            a for p, a in zip(params, arg_types, strict=True) if p in {"x", "series", "level"}
        ]
        if func.result == "same" or (func.result == "bool" and numeric):
            try:
                unified = t.unify(numeric) if numeric else t.NUMBER
            except UnitError as error:
                self.report("E201", str(error), node.span, None)
                return None
            if func.result == "bool":
                return t.BOOL
            return unified
        return {"number": t.NUMBER, "money": t.MONEY, "percent": t.PERCENT, "bool": t.BOOL}[
            func.result
        ]

    def argument(self, func: str, param: str, arg: ast.Node) -> tuple[ast.Node, Type | None]:
        if param in {"series", "level"}:
            resolved, typ = bar_calls.series_argument(self, func, param, arg)
            if typ is not None:
                self.ctx.used_scopes.add(Scope.UNDERLYING)
            return resolved, typ
        if param == "k":
            if isinstance(arg, ast.Number) and not arg.unit and 0 < arg.value <= 100:
                return arg, t.LITERAL_NUMBER
            self.report("E104", f"'{func}' needs a positive constant here, e.g. 3", arg.span, None)
            return arg, None
        if param == "n":
            if (
                isinstance(arg, ast.Number)
                and not arg.unit
                and arg.value == int(arg.value)
                and 1 <= arg.value <= 5000
            ):
                return arg, t.LITERAL_NUMBER
            self.report(
                "E104", f"'{func}' needs a whole number of bars (1-5000) here", arg.span, None
            )
            return arg, None
        resolved, typ = self.visit(arg)
        if typ is not None and typ.kind not in t.NUMERIC:
            self.report("E201", f"'{func}' needs a number, got {typ}", arg.span, None)
            return resolved, None
        return resolved, typ

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

    def pair(
        self, a: ast.Node | None, b: ast.Node | None
    ) -> tuple[ast.Node, Type | None, ast.Node, Type | None]:
        """Check two operands of a comparison; a bare name opposite an enum is a literal."""
        left, lt = self.visit(a)
        right, rt = self.visit(b, enum_hint=lt)
        if (
            lt is None
            and rt is not None
            and isinstance(a, ast.Name)
            and rt.kind in {Kind.ENUM, Kind.STRING}
        ):
            pass  # the left name was already reported as unknown
        return left, lt, right, rt

    def compare(self, node: ast.Compare) -> tuple[ast.Node, Type | None]:
        left, lt, right, rt = self.pair(node.left, node.right)
        node = replace(node, left=left, right=right)
        if lt is None or rt is None:
            return node, None
        if not t.comparable(lt, rt, node.op):
            self.report("E201", f"can't compare {lt} with {rt}", node.span, _compare_hint(lt, rt))
            return node, None
        return node, t.BOOL

    def between(self, node: ast.Between) -> tuple[ast.Node, Type | None]:
        subject, st = self.visit(node.subject)
        low, lo_t = self.visit(node.low)
        high, hi_t = self.visit(node.high)
        node = replace(node, subject=subject, low=low, high=high)
        if st is None or lo_t is None or hi_t is None:
            return node, None
        for bound, bt in ((low, lo_t), (high, hi_t)):
            if not t.comparable(st, bt, "<"):
                self.report(
                    "E201", f"can't compare {st} with {bt}", bound.span, _compare_hint(st, bt)
                )
                return node, None
        return node, t.BOOL

    def in_list(self, node: ast.InList) -> tuple[ast.Node, Type | None]:
        subject, st = self.visit(node.subject)
        items, ok = [], st is not None
        for item in node.items:
            resolved, it = self.visit(item, enum_hint=st)
            items.append(resolved)
            if it is None:
                ok = False
            elif st is not None and not t.comparable(st, it, "=="):
                self.report("E201", f"can't compare {st} with {it}", item.span, None)
                ok = False
        node = replace(node, subject=subject, items=tuple(items))
        if not node.items:
            self.report("E301", "`in []` is an empty list: nothing can match", node.span, None)
            return node, None
        return node, (t.BOOL if ok else None)

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


def _compare_hint(lt: Type, rt: Type) -> str | None:
    kinds = {lt.kind, rt.kind}
    if Kind.MONEY in kinds and kinds & t.RATIO:
        return (
            "one side is money, the other a plain number: drop the `$`, or compare money with money"
        )
    if Kind.DURATION in kinds:
        return "durations need a unit: 30s, 5m, 2h, 1d"
    if Kind.ENUM in kinds:
        return "compare with one of its values, e.g. `type == put`"
    return None
