"""Parse DSL text into AST nodes: one Lark LALR parser, built once, with friendly syntax errors."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from rulesengine.language import ast
from rulesengine.language.errors import SourceError

MAX_EXPRESSION_CHARS = 2000
MAX_DEPTH = 48

ENTRY_POINTS = ("expr", "leg", "expiry_choice", "roll_to", "schedule", "breaker", "exit_rule")

_NUMBER = re.compile(
    r"(?P<money>\$)?(?P<digits>(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)(?P<suffix>%|ms|[smhdwtkKMB])?"
)
_DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_MULTIPLIERS = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9}


def grammar_path() -> Path:
    """Where rules.lark lives: inside an installed wheel, or at the repository's top."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[1] / "_grammar", here.parents[2] / "grammar"):
        if (candidate / "rules.lark").is_file():
            return candidate / "rules.lark"
    raise FileNotFoundError("grammar/rules.lark is missing from this installation")


@cache
def _lark() -> Lark:
    return Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        start=list(ENTRY_POINTS),
        propagate_positions=True,
        maybe_placeholders=True,
        cache=False,
    )


def parse(text: str, start: str = "expr") -> ast.Node:
    """Parse one DSL text from the given entry point; raise SourceError on any problem."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise SourceError(
            "E303",
            f"expression is {len(text)} characters long; the limit is {MAX_EXPRESSION_CHARS}",
            (0, len(text)),
            "split it into `let` names",
        )
    if not text.strip():
        raise SourceError("E101", "empty expression", (0, len(text)), "write a condition here")
    try:
        tree = _lark().parse(text, start=start)
    except UnexpectedInput as error:
        raise _friendly(error, text, start) from None
    _check_depth(tree, text)
    try:
        return _ToAst(text).transform(tree)
    except VisitError as error:  # Lark wraps what a transformer callback raises
        if isinstance(error.orig_exc, SourceError):
            raise error.orig_exc from None
        raise


def _check_depth(tree: Tree, text: str) -> None:
    """Refuse absurdly nested input before the (recursive) transformer sees it."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            start = getattr(node.meta, "start_pos", 0) if isinstance(node, Tree) else 0
            raise SourceError(
                "E303",
                f"expression is nested more than {MAX_DEPTH} levels deep",
                (start, len(text)),
                "split it into `let` names",
            )
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _span(meta) -> ast.Span:
    return (int(meta.start_pos), int(meta.end_pos))


def _binary(op: str) -> Callable[[Any, Any, list[Any]], ast.Binary]:
    """A transformer method building `left op right`."""

    def build(self, meta, children) -> ast.Binary:
        return ast.Binary(_span(meta), op, children[0], children[1])

    return build


def _flatten(op: str) -> Callable[[Any, Any, list[Any]], ast.BoolOp]:
    """A transformer method building one flat `and`/`or` of its operands."""

    def build(self, meta, children) -> ast.BoolOp:
        operands: list[ast.Node] = []
        for child in children:
            if isinstance(child, ast.BoolOp) and child.op == op:
                operands.extend(child.operands)
            else:
                operands.append(child)
        return ast.BoolOp(_span(meta), op, tuple(operands))

    return build


def _token_span(token: Token) -> ast.Span:
    return (int(token.start_pos or 0), int(token.end_pos or 0))


def _number(token: Token) -> ast.Number:
    match = _NUMBER.fullmatch(str(token))
    if match is None:  # the lexer's regex guarantees a match; keep the guard for safety
        raise SourceError("E204", f"'{token}' is not a number", _token_span(token))
    value = float(match["digits"])
    if not math.isfinite(value):
        raise SourceError(
            "E204", f"'{token}' is too large a number", _token_span(token), "no rule needs it"
        )
    suffix = match["suffix"] or ""
    if match["money"]:
        if suffix in _DURATION_SECONDS or suffix in {"%", "t"}:
            raise SourceError(
                "E204",
                f"'{token}' mixes money with '{suffix}'",
                _token_span(token),
                f"write ${match['digits']} or {match['digits']}{suffix}",
            )
        return ast.Number(_token_span(token), value * _MULTIPLIERS.get(suffix, 1), "$", str(token))
    if suffix == "%":
        return ast.Number(_token_span(token), value / 100.0, "%", str(token))
    if suffix in _DURATION_SECONDS:
        seconds = value * _DURATION_SECONDS[suffix]
        return ast.Number(_token_span(token), seconds, "duration", str(token))
    if suffix == "t":  # tick bars: `512t` is a bar of 512 trades
        return ast.Number(_token_span(token), value, "ticks", str(token))
    return ast.Number(_token_span(token), value * _MULTIPLIERS.get(suffix, 1), "", str(token))


def _time(token: Token) -> int:
    hours, minutes = (int(part) for part in str(token).split(":"))
    if hours > 23 or minutes > 59:
        raise SourceError(
            "E204", f"'{token}' is not a time of day", _token_span(token), "use HH:MM, 24-hour"
        )
    return hours * 60 + minutes


def _duration(number: ast.Number, what: str) -> float:
    if number.unit != "duration":
        raise SourceError(
            "E204",
            f"{what} needs a duration, not '{number.text}'",
            number.span,
            f"write it with a unit, e.g. {number.text}m or {number.text}d",
        )
    return number.value


def _integer(number: ast.Number, what: str) -> int:
    if number.unit or number.value != int(number.value) or number.value < 1:
        raise SourceError(
            "E204", f"{what} must be a whole number >= 1, not '{number.text}'", number.span
        )
    return int(number.value)


@v_args(meta=True)
class _ToAst(Transformer):
    """Lark tree -> frozen AST nodes with spans."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    # literals -----------------------------------------------------------
    def number(self, meta, children):
        return _number(children[0])

    def date(self, meta, children):
        token = children[0]
        try:
            return ast.DateLit(_token_span(token), date.fromisoformat(str(token)))
        except ValueError:
            raise SourceError("E204", f"'{token}' is not a date", _token_span(token)) from None

    def time(self, meta, children):
        return ast.TimeLit(_token_span(children[0]), _time(children[0]))

    def string(self, meta, children):
        return ast.String(_span(meta), str(children[0])[1:-1])

    def true(self, meta, children):
        return ast.Bool(_span(meta), True)

    def false(self, meta, children):
        return ast.Bool(_span(meta), False)

    # references ---------------------------------------------------------
    def name(self, meta, children):
        return ast.Name(_span(meta), str(children[0]))

    def attr(self, meta, children):
        owner, name = children
        return ast.Attr(_span(meta), str(owner), str(name), _token_span(owner), _token_span(name))

    def call(self, meta, children):
        func, *args = children
        args = tuple(a for a in args if a is not None)
        return ast.Call(_span(meta), str(func), args, _token_span(func))

    def index(self, meta, children):
        """`close[1]` is `prev(close, 1)`: the value one bar ago."""
        series, count = children
        return ast.Call(_span(meta), "prev", (series, _number(count)), _span(meta))

    # operators ----------------------------------------------------------
    add, sub, mul, div, of = _binary("+"), _binary("-"), _binary("*"), _binary("/"), _binary("of")

    def neg(self, meta, children):
        return ast.Unary(_span(meta), "-", children[0])

    def pos(self, meta, children):
        return children[0]

    def not_(self, meta, children):
        return ast.Unary(_span(meta), "not", children[0])

    def compare(self, meta, children):
        left, op, right = children
        return ast.Compare(_span(meta), str(op), left, right)

    def between(self, meta, children):
        subject, low, high = children
        return ast.Between(_span(meta), subject, low, high, negated=False)

    def not_between(self, meta, children):
        subject, low, high = children
        return ast.Between(_span(meta), subject, low, high, negated=True)

    def list(self, meta, children):
        return tuple(c for c in children if c is not None)

    def in_(self, meta, children):
        return ast.InList(_span(meta), children[0], children[1], negated=False)

    def not_in(self, meta, children):
        return ast.InList(_span(meta), children[0], children[1], negated=True)

    and_, or_ = _flatten("and"), _flatten("or")

    # legs ---------------------------------------------------------------
    def buy(self, meta, children):
        return "buy"

    def sell(self, meta, children):
        return "sell"

    def count(self, meta, children):
        return _integer(_number(children[0]), "a leg's count")

    def nearest(self, meta, children):
        return ("nearest", children[0], children[1])

    def highest(self, meta, children):
        return ("highest", children[0], None)

    def lowest(self, meta, children):
        return ("lowest", children[0], None)

    def prefer(self, meta, children):
        (mode, key, target), keep = children
        keep_n = 1 if keep is None else _integer(_number(keep), "`keep`")
        return ast.Prefer(_span(meta), mode, key, target, keep_n)

    def roll_to(self, meta, children):
        ((mode, key, target),) = children
        return ast.Prefer(_span(meta), mode, key, target, 1)

    def expiry_choice(self, meta, children):
        where, prefer = children
        return ast.ExpiryChoice(_span(meta), where, prefer)

    def leg(self, meta, children):
        side = count = None
        rest = list(children)
        if rest and rest[0] in ("buy", "sell"):
            side = rest.pop(0)
        elif rest and rest[0] is None:
            rest.pop(0)
        if rest and (isinstance(rest[0], int) or rest[0] is None):
            count = rest.pop(0)
        kind_token, where, prefer = rest
        kind = str(kind_token).lower()
        return ast.LegSpec(
            _span(meta), side, count or 1, kind, _token_span(kind_token), where, prefer
        )

    # schedules ----------------------------------------------------------
    def during(self, meta, children):
        return ("during", str(children[0]), _token_span(children[0]))

    def between_times(self, meta, children):
        low, high = (_time(t) for t in children)
        if high <= low:
            raise SourceError(
                "E301", "the time window is empty", _span(meta), "put the earlier time first"
            )
        return ("between", (low, high), _span(meta))

    def _window(self, window, **fields):
        if window is None:
            return fields
        kind, value, span = window
        if kind == "during":
            return {**fields, "window": value, "window_span": span}
        return {**fields, "between": value}

    def every(self, meta, children):
        interval = _duration(_number(children[0]), "`every`")
        if interval <= 0:
            raise SourceError("E204", "`every` needs a positive interval", _span(meta))
        return ast.Schedule(
            _span(meta), **self._window(children[1], kind="every", interval_s=interval)
        )

    def at(self, meta, children):
        *times, window = children
        minutes = tuple(_time(t) for t in times)
        return ast.Schedule(_span(meta), **self._window(window, kind="at", times=minutes))

    def before_close(self, meta, children):
        seconds = _duration(_number(children[0]), "`before_close`")
        return ast.Schedule(_span(meta), kind="before_close", interval_s=seconds)

    def after_open(self, meta, children):
        seconds = _duration(_number(children[0]), "`after_open`")
        return ast.Schedule(_span(meta), kind="after_open", interval_s=seconds)

    def cron(self, meta, children):
        token = children[0]
        text = str(token)[1:-1]
        _check_cron(text, (token.start_pos + 1, token.end_pos - 1))
        return ast.Schedule(_span(meta), kind="cron", cron=text)

    # breakers -----------------------------------------------------------
    def breaker(self, meta, children):
        condition, action, duration = children
        seconds = None if duration is None else _duration(_number(duration), "`for`")
        return ast.Breaker(_span(meta), condition, str(action), _token_span(action), seconds)

    def exit_rule(self, meta, children):
        condition, action, amount = children
        if action is None:
            return condition  # a plain exit: close the whole position
        if str(action) not in {"close", "roll"}:
            raise SourceError(
                "E101",
                f"unknown exit action '{action}'",
                _token_span(action),
                "write `-> close 25%` (a share), `-> close 1` (contracts) or `-> roll`",
            )
        if str(action) == "roll":
            if amount is not None:
                raise SourceError(
                    "E101", "`-> roll` takes no size", _token_span(amount), "remove the number"
                )
            return ast.ExitRule(_span(meta), condition, action="roll")
        if amount is None:
            raise SourceError(
                "E101",
                "`-> close` needs a size: `-> close 25%` or `-> close 1`",
                _token_span(action),
                "a plain exit (no `->`) closes the whole position",
            )
        number = _number(amount)
        percent = number.unit == "%"
        if number.unit not in {"", "%"} or number.value <= 0 or (percent and number.value > 1):
            raise SourceError(
                "E204",
                f"close needs a share of the position (1% to 100%) or a number of contracts, "
                f"not '{number.text}'",
                number.span,
            )
        if not percent:
            _integer(number, "the contracts to close")
        return ast.ExitRule(
            _span(meta), condition, amount=number.value, percent=percent, amount_span=number.span
        )


_CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
_CRON_NAMES = {
    **{d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))},
    **{
        m: i + 1
        for i, m in enumerate(
            ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
        )
    },
}


def _check_cron(text: str, span: ast.Span) -> None:
    """Validate a five-field cron string (minute hour day month weekday)."""
    fields = text.split()
    if len(fields) != 5:
        raise SourceError(
            "E401",
            "a cron schedule has 5 fields (minute hour day month weekday), "
            f"this one has {len(fields)}",
            span,
            'for example: cron "*/5 9-15 * * mon-fri"',
        )
    for value, (what, low, high) in zip(fields, _CRON_FIELDS, strict=True):
        for part in value.split(","):
            body, _, step = part.partition("/")
            if step and not step.isdigit():
                raise SourceError("E401", f"cron {what} step '{step}' is not a number", span)
            if body == "*":
                continue
            for bound in body.split("-"):
                number = _CRON_NAMES.get(bound.lower(), bound)
                if not str(number).isdigit() or not low <= int(number) <= high:
                    raise SourceError(
                        "E401", f"cron {what} '{bound}' is outside {low}-{high}", span
                    )


# ---------------------------------------------------------------- syntax errors
_TOKEN_WORDS = {
    "AND": "`and`",
    "OR": "`or`",
    "RPAR": "`)`",
    "LPAR": "`(`",
    "RSQB": "`]`",
    "COMMA": "`,`",
    "COMPARE": "a comparison such as `>`",
    "NUMBER": "a number",
    "NAME": "a name",
    "WHERE": "`where`",
    "PREFER": "`prefer`",
    "__ANON_0": "`->`",
}


def _describe(expected: set[str]) -> str:
    words = sorted({_TOKEN_WORDS.get(name, name.lower().strip("_")) for name in expected})
    words = [w for w in words if w]
    if len(words) > 6 or not words:
        return "an expression"
    return " or ".join(words)


def _friendly(error: UnexpectedInput, text: str, start: str) -> SourceError:
    """Turn Lark's exception into one message that says what to write instead."""
    pos = getattr(error, "pos_in_stream", None)
    if isinstance(error, UnexpectedToken):
        token = error.token
        if token.type == "$END":
            return _unexpected_end(error, text, start)
        span = (token.start_pos, token.end_pos)
        expected = set(error.expected)
        value_token = token.type in {"NAME", "NUMBER", "DATE", "TIME", "STRING", "LPAR"}
        if value_token and "AND" in expected:
            return SourceError(
                "E101",
                "missing `and` between conditions",
                span,
                f"write `and` (or `or`) before '{token}'",
            )
        if value_token and start == "leg" and "WHERE" in expected:
            return SourceError(
                "E101",
                "missing `where` after the leg's kind",
                span,
                "e.g. `put where delta > -0.3`",
            )
        return SourceError("E101", f"unexpected '{token}'", span, f"expected {_describe(expected)}")
    if isinstance(error, UnexpectedCharacters):
        pos = int(error.pos_in_stream or 0)
        char = text[pos] if pos < len(text) else ""
        two = text[pos : pos + 2]
        hints = {
            "=": ("a single `=` is not a comparison", "use `==` to compare"),
            "&&": ("`&&` is not an operator here", "write `and`"),
            "||": ("`||` is not an operator here", "write `or`"),
            "&": ("`&` is not an operator here", "write `and`"),
            "|": ("`|` is not an operator here", "write `or`"),
            "!": ("`!` is not an operator here", "write `not` (or `!=`)"),
        }
        key = two if two in hints else char
        if key in hints:
            message, hint = hints[key]
            return SourceError("E101", message, (pos, pos + len(key)), hint)
        return SourceError(
            "E101",
            f"unexpected character {char!r}",
            (pos, pos + 1),
            f"expected {_describe(set(error.allowed or ()))}",
        )
    if isinstance(error, UnexpectedEOF):
        return _unexpected_end(error, text, start)
    return SourceError("E101", "syntax error", (pos or 0, len(text)))


def _unexpected_end(error, text: str, start: str) -> SourceError:
    end = len(text.rstrip())
    expected = set(getattr(error, "expected", ()) or ())
    if "RPAR" in expected and text.count("(") > text.count(")"):
        return SourceError(
            "E101", "missing `)`", (max(end - 1, 0), end), "close every `(` you open"
        )
    if "RSQB" in expected:
        return SourceError("E101", "missing `]`", (max(end - 1, 0), end), "close the list with `]`")
    if start == "breaker" and "__ANON_0" in expected:
        return SourceError(
            "E402",
            "a breaker needs an action",
            (0, end),
            "append `-> halt`, `-> block_entries`, `-> reduce_only`, `-> close_all` or `-> alert`",
        )
    return SourceError(
        "E101",
        "the expression ends too early",
        (max(end - 1, 0), end),
        f"expected {_describe(expected)}",
    )
