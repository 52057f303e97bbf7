"""What each graph operator does to numpy columns. NaN compares false (except `!=`).

The kernels live with the compiler: constant folding runs them at compile time, the runtime
runs them over whole chains; both read this one table."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _between(x, lo, hi):
    return (x >= lo) & (x <= hi)


def _in(x, *items):
    if len(items) == 1:
        return x == items[0]
    result = x == items[0]
    for item in items[1:]:
        result = result | (x == item)
    return result


def _and(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = out & x
    return out


def _or(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = out | x
    return out


def _fold(fn):
    def apply(*xs):
        out = xs[0]
        for x in xs[1:]:
            out = fn(out, x)
        return out

    return apply


OPERATORS: dict[str, Callable[..., np.ndarray]] = {
    "neg": np.negative,
    "not": np.logical_not,
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "eq": np.equal,
    "ne": np.not_equal,
    "between": _between,
    "in": _in,
    "and": _and,
    "or": _or,
    "abs": np.abs,
    "min": _fold(np.fmin),
    "max": _fold(np.fmax),
    "round": np.round,
    "floor": np.floor,
    "ceil": np.ceil,
    "sqrt": np.sqrt,
    "log": np.log,
}


def apply(op: str, args: list[np.ndarray]) -> np.ndarray:
    return OPERATORS[op](*args)
