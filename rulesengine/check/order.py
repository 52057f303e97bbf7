"""The `order:` section: a strategy's execution policy, or (in a portfolio file) the defaults
of every strategy: time in force, a timeout after which a working order is cancelled, and a
cap on working entry orders."""

from __future__ import annotations

import re

from rulesengine.check.program import Program
from rulesengine.language.model import OrderSection

DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def check_order(section: OrderSection, program: Program, result, at_key) -> None:
    values = section.model_dump(exclude_none=True)
    if "timeout" in values:
        found = DURATION.match(str(values["timeout"]).strip())
        if found is None or float(found.group(1)) <= 0:
            result.add(
                "E011",
                f"order.timeout: '{values['timeout']}' is not a duration",
                at_key("timeout"),
                "e.g. `timeout: 10m` (s, m, h or d)",
            )
            return
        values["timeout"] = float(found.group(1)) * SECONDS[found.group(2)]
    program.order = values
