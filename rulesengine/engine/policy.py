"""A strategy's execution policy: its `order:` section over the portfolio files' defaults.

| key         | default | effect                                                          |
|-------------|---------|-----------------------------------------------------------------|
| tif         | day     | time in force of its orders (gtc: they outlive the session)     |
| timeout     | none    | an order still working after this long is cancelled; an exit    |
|             |         | then fires again at the next monitor, priced at the new mid     |
| max_working | none    | entry orders it may have working at once (more are refused)     |
"""

from __future__ import annotations

from dataclasses import dataclass

from brokers.model import TimeInForce
from rulesengine.engine.ruleset import Compiled, RuleSet


@dataclass(frozen=True)
class OrderPolicy:
    tif: TimeInForce = TimeInForce.DAY
    timeout_s: float | None = None
    max_working: int | None = None


def policy_for(rules: RuleSet, compiled: Compiled | None) -> OrderPolicy:
    merged: dict = {}
    for portfolio in rules.portfolios:
        merged.update(portfolio.program.order)
    if compiled is not None:
        merged.update(compiled.program.order)
    return OrderPolicy(
        TimeInForce(merged.get("tif", "day")), merged.get("timeout"), merged.get("max_working")
    )
