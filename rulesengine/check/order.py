"""The `order:` section: a strategy's execution policy, or (in a portfolio file) the defaults
of every strategy: time in force, first limit prices, the repricing walk, a timeout after
which a working order is cancelled, a minimum fill, retries after a rejection, and a cap on
working entry orders. Values are checked here and stored ready to use in `Program.order`."""

from __future__ import annotations

import re

from rulesengine.check.program import Program
from rulesengine.language.model import OrderSection
from rulesengine.language.prices import PriceError, parse_price

DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
PERCENT = re.compile(r"^(\d+(?:\.\d+)?)\s*%$")
MONEY = re.compile(r"^\$\s*(\d+(?:\.\d+)?)$")


def check_order(section: OrderSection, program: Program, result, at_key) -> None:
    values = section.model_dump(exclude_none=True)

    def problem(key: str, message: str, hint: str) -> None:
        result.add("E011", f"order.{key}: {message}", at_key(key), hint)

    for key in ("timeout", "retry_after"):
        if key in values:
            seconds = duration(values[key])
            if seconds is None:
                problem(key, f"'{values[key]}' is not a duration", f"e.g. `{key}: 10m`")
                return
            values[key] = seconds
    for key in ("price", "exit_price"):
        if key in values:
            try:
                values[key] = parse_price(values[key])
            except PriceError as error:
                problem(key, str(error), "the price is read in the order's own terms")
                return
    if "min_fill" in values:
        found = PERCENT.match(str(values["min_fill"]).strip())
        share = float(found.group(1)) / 100 if found else -1.0
        if not 0 < share <= 1:
            problem("min_fill", f"'{values['min_fill']}' is not a share of the order",
                    "e.g. `min_fill: 50%`")  # fmt: skip
            return
        values["min_fill"] = share
    if "protective_stop" in values:
        found = MONEY.match(str(values["protective_stop"]).strip())
        if found is None or float(found.group(1)) <= 0:
            problem(
                "protective_stop",
                f"'{values['protective_stop']}' is not an amount of money",
                "e.g. `protective_stop: $150` (the loss, per position, the stop closes at)",
            )
            return
        values["protective_stop"] = float(found.group(1))
    options = [leg.name for leg in program.legs if leg.kind in {"put", "call"}]
    for key, want in (("type", "market"), ("protective_stop", None)):
        if key in values and options and (want is None or values[key] == want):
            problem(
                key,
                f"is for strategies of shares and futures; leg {options[0]} is an option",
                "options always go as limit orders, closed by the exit rules",
            )
            return
    walk = values.get("walk")
    if isinstance(walk, dict):
        every = duration(walk["every"])
        if every is None:
            problem("walk", f"every: '{walk['every']}' is not a duration", "e.g. `every: 30s`")
            return
        try:
            stop = parse_price(walk["stop"], allow_from_mid=True)
        except PriceError as error:
            problem("walk", f"stop: {error}", "e.g. `stop: 50% toward natural`")
            return
        values["walk"] = {"every": every, "ticks": walk["ticks"], "stop": stop}
    program.order = values


def duration(text: str) -> float | None:
    """Seconds in `10m`, `30s`, `2h`, `1d` (None: not a positive duration)."""
    found = DURATION.match(str(text).strip())
    if found is None or float(found.group(1)) <= 0:
        return None
    return float(found.group(1)) * SECONDS[found.group(2)]
