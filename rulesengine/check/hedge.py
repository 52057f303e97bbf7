"""The `hedge:` section of a strategy: the delta band each position is kept in with shares of
the underlying, where a hedge brings it back to, and how often the band is checked."""

from __future__ import annotations

import re

from brokers.futures import FUTURES
from rulesengine.check.order import duration
from rulesengine.check.program import Program
from rulesengine.language.model import HedgeSection

_BAND = re.compile(r"^between\s+(-?\d+(?:\.\d+)?)\s+and\s+(-?\d+(?:\.\d+)?)$")


def check_hedge(section: HedgeSection, program: Program, result, at_key) -> None:
    if program.kind != "strategy":
        result.add(
            "E011",
            "`hedge` belongs in a strategy file: it hedges that strategy's positions",
            at_key(None),
        )
        return
    found = _BAND.match(" ".join(section.delta.split()).lower())
    if found is None:
        result.add(
            "E011",
            f"hedge.delta: '{section.delta}' is not a band",
            at_key("delta"),
            "e.g. `delta: between -10 and 10` (shares of delta, hedges included)",
        )
        return
    low, high = sorted(float(v) for v in found.groups())
    target = (low + high) / 2 if section.to is None else section.to
    if not low <= target <= high:
        result.add(
            "E011",
            f"hedge.to: {target:g} is outside the band [{low:g}, {high:g}]",
            at_key("to"),
            "a hedge brings the delta back inside the band",
        )
        return
    every = None
    if section.every is not None:
        every = duration(section.every)
        if every is None:
            result.add(
                "E011", f"hedge.every: '{section.every}' is not a duration", at_key("every"),
                "e.g. `every: 15m`",
            )  # fmt: skip
            return
    using = section.using.strip()
    if using != "underlying" and using.upper() not in FUTURES:
        result.add(
            "E011",
            f"hedge.using: '{section.using}' is neither `underlying` nor a futures root",
            at_key("using"),
            f"use `underlying` or one of {', '.join(FUTURES)}",
        )
        return
    program.hedge = {
        "low": low, "high": high, "to": target, "every": every,
        "using": using if using == "underlying" else using.upper(),
    }  # fmt: skip
