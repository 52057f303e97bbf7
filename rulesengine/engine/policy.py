"""A strategy's execution policy: its `order:` section over the portfolio files' defaults.

| key         | default | effect                                                            |
|-------------|---------|-------------------------------------------------------------------|
| tif         | day     | time in force (gtc: outlives the session; ioc: the rest cancelled)|
| price       | mid     | the first limit of entries (and of exits without exit_price)      |
| exit_price  | price   | the first limit of exits                                          |
| walk        | broker  | reprice every N s by N ticks toward natural, never past `stop`;   |
|             |         | unset: the paper account's default walk; `off`: rest at the limit |
| timeout     | none    | an order still working after this long is cancelled; an exit      |
|             |         | then fires again at the next monitor, priced anew                 |
| min_fill    | none    | an entry that ends with less filled than this share is unwound    |
| retries     | 0       | a rejected order is sent again this many times, re-priced, after  |
| retry_after | 30s     | this wait, doubling after each attempt                            |
| max_working | none    | entry orders it may have working at once (more are refused)       |
| type        | limit   | market: share and futures orders go as market orders              |
| protective_stop | none | a resting stop order closing a share or futures position at a   |
|             |         | loss of this many dollars (placed once its entry fills)           |
"""

from __future__ import annotations

from dataclasses import dataclass

from brokers.model import TimeInForce
from rulesengine.engine.ruleset import Compiled, RuleSet
from rulesengine.language.prices import MID, LimitPrice

DEFAULT_RETRY_AFTER = 30.0


@dataclass(frozen=True)
class WalkPolicy:
    every_s: float
    ticks: int
    stop: LimitPrice


@dataclass(frozen=True)
class OrderPolicy:
    tif: TimeInForce = TimeInForce.DAY
    timeout_s: float | None = None
    max_working: int | None = None
    price: LimitPrice = MID
    exit_price: LimitPrice | None = None
    walk: WalkPolicy | None = None  # None: the broker's own working
    walk_off: bool = False
    min_fill: float | None = None  # share of the ordered quantity
    retries: int = 0
    retry_after_s: float = DEFAULT_RETRY_AFTER
    market: bool = False  # share and futures orders as market orders
    protective_stop: float | None = None  # $ per position

    def limit_rule(self, purpose: str) -> LimitPrice:
        """The first limit of an `entry`, `exit` or `roll` order."""
        return (self.exit_price or self.price) if purpose == "exit" else self.price


def policy_for(rules: RuleSet, compiled: Compiled | None) -> OrderPolicy:
    merged: dict = {}
    for portfolio in rules.portfolios:
        merged.update(portfolio.program.order)
    if compiled is not None:
        merged.update(compiled.program.order)
    walk = merged.get("walk")
    walking = None
    if isinstance(walk, dict):
        walking = WalkPolicy(walk["every"], walk["ticks"], walk["stop"])
    return OrderPolicy(
        tif=TimeInForce(merged.get("tif", "day")),
        timeout_s=merged.get("timeout"),
        max_working=merged.get("max_working"),
        price=merged.get("price", MID),
        exit_price=merged.get("exit_price"),
        walk=walking,
        walk_off=walk == "off",
        min_fill=merged.get("min_fill"),
        retries=merged.get("retries", 0),
        retry_after_s=merged.get("retry_after", DEFAULT_RETRY_AFTER),
        market=merged.get("type") == "market",
        protective_stop=merged.get("protective_stop"),
    )
