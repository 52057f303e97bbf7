"""Checked program -> graph (a plain tree: sharing and folding are the passes' job)."""

from __future__ import annotations

from rulesengine.check.bar_calls import is_timeframe_literal
from rulesengine.check.names import ENUMS, FUNCTIONS
from rulesengine.check.names import SERIES as SERIES_FIELDS
from rulesengine.check.program import Checked, EnumLit, FieldRef, LetRef, Program, SeriesRef
from rulesengine.check.timeframes import DAILY, Timeframe, timeframe_of
from rulesengine.compile.graph import Clause, FieldPath, Graph, Node, Payload
from rulesengine.compile.series import SERIES, Apply, Bar, Lit, SeriesExpr
from rulesengine.data.chain import to_seconds
from rulesengine.language import ast

_BINARY = {"+": "add", "-": "sub", "*": "mul", "/": "div", "of": "mul"}
_COMPARE = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
# Fields that are an indicator with its usual window: `iv_rank` is `iv_rank(252)`.
FIELDS_AS_CALLS: dict[str, SeriesExpr] = {
    name: Apply(name, (Bar("atm_iv", DAILY),), (252.0,)) for name in ("iv_rank", "iv_percentile")
}
_ENUM_OF_FIELD = {
    "type": "option_type",
    "style": "style",
    "settlement": "settlement",
    "weekday": "weekday",
}


class _Lowering:
    def __init__(self, program: Program):
        self.program = program
        self.nodes: list[Node] = []
        self.filters: dict[str, list[Clause]] = {}
        self.values: dict[str, int] = {}

    def add(self, op: str, args: tuple[int, ...] = (), value: Payload = None) -> int:
        self.nodes.append(Node(op, args, value))
        return len(self.nodes) - 1

    def expr(
        self, node: ast.Node | None, leg: str | None = None, enum_of: str | None = None
    ) -> int:
        """Lower one expression; `leg` rebinds a let's own-row fields to a named leg."""
        if node is None:
            raise AssertionError("a checked tree has every operand")
        match node:
            case ast.Number(value=v):
                return self.add("const", value=float(v))
            case ast.Bool(value=v):
                return self.add("const", value=bool(v))
            case ast.String(value=v):
                return self.add("const", value=str(v))
            case ast.DateLit(value=d):
                return self.add("const", value=to_seconds(d))
            case ast.TimeLit(minutes=m):
                return self.add("const", value=float(m * 60))
            case EnumLit(value=v):
                return self.add("const", value=float(ENUMS[enum_of].index(v)) if enum_of else v)
            case FieldRef(field=f) if f is not None and f.name in FIELDS_AS_CALLS:
                return self.add("series", value=FIELDS_AS_CALLS[f.name])
            case FieldRef(field=f) if (
                f is not None and f.name in SERIES_FIELDS and self.program.bars.intraday
            ):  # in a `bars: 5m` file, `close` is the last 5-minute bar's, like `close[1]`
                return self.add("series", value=Bar(f.name, self.program.bars))
            case FieldRef(field=f, leg=own) if f is not None:
                return self.add("field", value=FieldPath(own if own is not None else leg, f.name))
            case LetRef(name=name, leg=own):
                return self.expr(self.program.lets[name].node, own if own is not None else leg)
            case SeriesRef():
                raise AssertionError("series only appear inside indicator calls")
            case ast.Unary(op="-", operand=o):
                return self.add("neg", (self.expr(o, leg),))
            case ast.Unary(op="not", operand=o):
                return self.add("not", (self.expr(o, leg),))
            case ast.Binary(op=op, left=a, right=b):
                return self.add(_BINARY[op], (self.expr(a, leg), self.expr(b, leg)))
            case ast.Compare(op=op, left=a, right=b):
                enum = _enum_name(a) or _enum_name(b)
                return self.add(_COMPARE[op], (self.expr(a, leg, enum), self.expr(b, leg, enum)))
            case ast.Between(subject=s, low=lo, high=hi, negated=neg):
                out = self.add(
                    "between", (self.expr(s, leg), self.expr(lo, leg), self.expr(hi, leg))
                )
                return self.add("not", (out,)) if neg else out
            case ast.InList(subject=s, items=items, negated=neg):
                enum = _enum_name(s)
                args = (self.expr(s, leg), *(self.expr(i, leg, enum) for i in items))
                out = self.add("in", args)
                return self.add("not", (out,)) if neg else out
            case ast.BoolOp(op=op, operands=ops):
                return self.add(op, tuple(self.expr(o, leg) for o in ops))
            case ast.Call(func=fn, args=args):
                if FUNCTIONS[fn].reads_bars:  # an indicator over bars
                    return self.add("series", value=series_tree(node, self.program.bars))
                return self.add(fn, tuple(self.expr(a, leg) for a in args))
        raise AssertionError(f"cannot lower {type(node).__name__}")

    def clauses(
        self, checked: Checked, origin: str, node: ast.Node | None = None, leg: str | None = None
    ) -> list[Clause]:
        """A condition split into its top-level conjuncts, `let` conjunctions included."""
        out: list[Clause] = []
        for part in ast.conjuncts(checked.node if node is None else node):
            if isinstance(part, LetRef):
                let = self.program.lets[part.name]
                if isinstance(let.node, ast.BoolOp) and let.node.op == "and":
                    for sub in let.node.operands:
                        label = f"{part.name}: {let.clause_text(sub.span)}"
                        out.append(Clause(self.expr(sub, part.leg or leg), label, origin))
                    continue
            out.append(Clause(self.expr(part, leg), checked.clause_text(part.span), origin))
        return out

    def program_graph(self) -> Graph:
        p = self.program
        if p.underlying:
            self.filters["underlying"] = [
                c for ch in p.underlying for c in self.clauses(ch, ch.label)
            ]
        if p.expiry is not None:
            where = p.expiry.where
            self.filters["expiry"] = [] if where is None else self.clauses(where, "expiry")
            self.values["expiry:key"] = self.expr(p.expiry.prefer.key)
            if p.expiry.prefer.target is not None:
                self.values["expiry:target"] = self.expr(p.expiry.prefer.target)
        for leg in p.legs:
            clauses: list[Clause] = []
            if leg.where is not None:
                clauses = self.clauses(leg.where, leg.where.label)
            self.filters[f"leg:{leg.name}"] = clauses
            if leg.prefer is not None:
                self.values[f"prefer:{leg.name}:key"] = self.expr(leg.prefer.key)
                if leg.prefer.target is not None:
                    self.values[f"prefer:{leg.name}:target"] = self.expr(leg.prefer.target)
        if p.entry:
            self.filters["entry"] = [c for ch in p.entry for c in self.clauses(ch, ch.label)]
        if p.rank is not None:
            self.values["rank"] = self.expr(p.rank.node)
        self.account_values()
        return Graph(
            tuple(self.nodes), {k: tuple(v) for k, v in self.filters.items()}, dict(self.values)
        )

    def account_values(self) -> None:
        """Exits, sizing, limits and breakers: values the engine reads by name, e.g.
        `exit:take_profit`, `size:risk`, `limits:max_heat`, `breaker:daily_loss`."""
        p = self.program
        for name, checked in p.exits.items():
            self.values[f"exit:{name}"] = self.expr(checked.node)
        if p.roll is not None:
            self.values["roll:when"] = self.expr(p.roll.node)
        if p.roll_to is not None and p.roll_to.target is not None:
            self.values["roll:to"] = self.expr(p.roll_to.target)
        for section, entries in (("size", p.size), ("limits", p.limits)):
            for key, value in entries.items():
                if isinstance(value, Checked):
                    self.values[f"{section}:{key}"] = self.expr(value.node)
        for name, checked in p.breakers.items():
            assert isinstance(checked.node, ast.Breaker)
            self.values[f"breaker:{name}"] = self.expr(checked.node.condition)


def _enum_name(node: ast.Node | None) -> str | None:
    if isinstance(node, FieldRef) and node.field is not None:
        return _ENUM_OF_FIELD.get(node.field.name)
    return None


def series_tree(node: ast.Node, timeframe: Timeframe) -> SeriesExpr:
    """A checked indicator call as a series tree; a call's own timeframe reaches its inner
    calls and bars, `timeframe` is the enclosing (or the file's default) one."""
    match node:
        case SeriesRef(name=name):
            return Bar(name, timeframe)
        case ast.Number(value=v, unit=unit) if unit not in {"duration", "ticks"}:
            return Lit(float(v))
        case ast.Unary(op="-", operand=ast.Number(value=v)):
            return Lit(-float(v))
        case ast.Call(func=fn, args=args):
            function = FUNCTIONS[fn]
            if args and is_timeframe_literal(args[-1]):
                literal = args[-1]
                assert isinstance(literal, ast.Number)
                timeframe = timeframe_of(literal.value, literal.unit, literal.text)
                args = args[:-1]
            if function.daily:
                timeframe = DAILY
            inputs = SERIES[fn].inputs
            series_args = tuple(
                series_tree(a, timeframe)
                for p, a in zip(function.params, args, strict=False)
                if p in {"series", "level"}
            )
            constants = tuple(
                float(a.value)
                for p, a in zip(function.params, args, strict=False)
                if p in {"n", "k"} and isinstance(a, ast.Number)
            )
            implicit = tuple(Bar(name, timeframe) for name in inputs)
            return Apply(fn, implicit + series_args, constants)
    raise AssertionError(f"not a series: {type(node).__name__}")


def lower(program: Program) -> Graph:
    return _Lowering(program).program_graph()
