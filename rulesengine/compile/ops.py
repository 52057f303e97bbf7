"""The one table of graph operators: what each op takes, costs, computes and how it reads.

Lowering builds nodes by these names, the passes fold, share and order them from these specs,
the runtime runs their kernels over whole columns, and `Graph.render` prints them from here.
Adding an operator is one `OpSpec` entry plus its kernel and tests. NaN compares false (except
`!=`), as numpy does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Kernel = Callable[..., np.ndarray]


@dataclass(frozen=True)
class OpSpec:
    name: str
    arity: tuple[int, int | None]  # (fewest, most) arguments; None: no upper bound
    args: str  # 'number' | 'bool' | 'any': what every argument must be
    result: str  # 'number' | 'bool' | 'same' (as the first argument)
    kernel: Kernel | None  # None: the runtime supplies the value (const, field, series)
    render: str  # 'infix:+', 'prefix:-', 'between', 'in', 'join', 'call', 'leaf'
    cost: float = 1.0  # per row, in numpy passes over one column
    foldable: bool = True  # constant arguments -> constant result at compile time
    commutative: bool = False  # argument order is irrelevant (a + b is b + a)
    keeps: float = 0.5  # share of rows a clause with this op at its top is expected to keep

    def accepts(self, count: int) -> bool:
        low, high = self.arity
        return count >= low and (high is None or count <= high)


def _between(x, lo, hi):
    return (x >= lo) & (x <= hi)


def _in(x, *items):
    result = x == items[0]
    for item in items[1:]:
        result = result | (x == item)
    return result


def _fold(fn: Kernel) -> Kernel:
    def apply(*xs):
        out = xs[0]
        for x in xs[1:]:
            out = fn(out, x)
        return out

    return apply


def _infix(name: str, symbol: str, kernel: Kernel, args: str, result: str, **kw) -> OpSpec:
    return OpSpec(name, (2, 2), args, result, kernel, f"infix:{symbol}", **kw)


def _math(name: str, kernel: Kernel, cost: float = 1.0, result: str = "same") -> OpSpec:
    return OpSpec(name, (1, 1), "number", result, kernel, "call", cost)


_SPECS = (
    OpSpec("const", (0, 0), "any", "any", None, "leaf", cost=0.0, foldable=False),
    OpSpec("field", (0, 0), "any", "any", None, "leaf", foldable=False),
    # an indicator over bars: a SeriesExpr payload, computed per underlying
    OpSpec("series", (0, 0), "any", "number", None, "leaf", cost=4.0, foldable=False),
    OpSpec("neg", (1, 1), "number", "same", np.negative, "prefix:-"),
    OpSpec("not", (1, 1), "bool", "bool", np.logical_not, "prefix:not ", keeps=0.5),
    _infix("add", "+", np.add, "number", "same", commutative=True),
    _infix("sub", "-", np.subtract, "number", "same"),
    _infix("mul", "*", np.multiply, "number", "same", commutative=True),
    _infix("div", "/", np.divide, "number", "same"),
    _infix("lt", "<", np.less, "any", "bool"),
    _infix("le", "<=", np.less_equal, "any", "bool"),
    _infix("gt", ">", np.greater, "any", "bool"),
    _infix("ge", ">=", np.greater_equal, "any", "bool"),
    _infix("eq", "==", np.equal, "any", "bool", commutative=True, keeps=0.1),
    _infix("ne", "!=", np.not_equal, "any", "bool", commutative=True),
    OpSpec(
        "between", (3, 3), "any", "bool", _between, "between", cost=2.0, foldable=False, keeps=0.3
    ),
    OpSpec("in", (2, None), "any", "bool", _in, "in", cost=2.0, foldable=False, keeps=0.2),
    OpSpec(
        "and",
        (2, None),
        "bool",
        "bool",
        _fold(np.logical_and),
        "join",
        commutative=True,
        keeps=0.25,
    ),
    OpSpec("or", (2, None), "bool", "bool", _fold(np.logical_or), "join", commutative=True),
    OpSpec("min", (2, None), "number", "same", _fold(np.fmin), "call", commutative=True),
    OpSpec("max", (2, None), "number", "same", _fold(np.fmax), "call", commutative=True),
    _math("abs", np.abs),
    _math("round", np.round),
    _math("floor", np.floor),
    _math("ceil", np.ceil),
    _math("sqrt", np.sqrt, cost=2.0, result="number"),
    _math("log", np.log, cost=3.0, result="number"),
)

OPS: dict[str, OpSpec] = {spec.name: spec for spec in _SPECS}


def spec(op: str) -> OpSpec:
    found = OPS.get(op)
    if found is None:
        raise KeyError(f"no graph operator {op!r}; the operators are {', '.join(OPS)}")
    return found


def apply(op: str, args: list[np.ndarray]) -> np.ndarray:
    """Run an operator's kernel (under the caller's numpy error state)."""
    kernel = spec(op).kernel
    if kernel is None:
        raise ValueError(f"{op} nodes are values, not operations")
    return kernel(*args)


def render(op: str, args: list[str]) -> str:
    """A node as infix text from its arguments' text."""
    form = spec(op).render
    if form.startswith("infix:"):
        return f"({args[0]} {form[6:]} {args[1]})"
    if form.startswith("prefix:"):
        return f"{form[7:]}{args[0]}"
    if form == "between":
        return f"({args[0]} between {args[1]} and {args[2]})"
    if form == "in":
        return f"({args[0]} in [{', '.join(args[1:])}])"
    if form == "join":
        return "(" + f" {op} ".join(args) + ")"
    return f"{op}({', '.join(args)})"
