"""Opening a broker by name, with the live opt-in enforced in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from brokers.errors import LiveTradingNotEnabled, NotSupported
from brokers.model import OrderRequest, Preview
from brokers.protocol import Broker

NAMES = ("paper", "tastytrade", "alpaca", "schwab")
LIVE_CONFIRM_ENV = "RULES_LIVE_TRADING"  # must be "yes" as well as --live


def open_broker(
    name: str,
    *,
    live: bool = False,
    env: Mapping[str, str] | None = None,
    state_dir: Path | None = None,
    **kw: Any,
) -> Broker:
    """The named adapter, sandbox/paper endpoints unless `live` (which needs the env opt-in)."""
    environ = os.environ if env is None else env
    if live and environ.get(LIVE_CONFIRM_ENV) != "yes":
        raise LiveTradingNotEnabled(
            f"live trading needs both --live and {LIVE_CONFIRM_ENV}=yes in the environment",
            broker=name,
        )
    if name == "paper":
        from brokers.paper.broker import PaperBroker

        path = None if state_dir is None else state_dir / "paper.json"  # as `rules run`'s
        return PaperBroker(state_path=path, **kw)
    if name == "tastytrade":
        from brokers.tastytrade import TastytradeBroker

        return TastytradeBroker.from_env(env, live=live, **kw)
    if name == "alpaca":
        from brokers.alpaca import AlpacaBroker

        return AlpacaBroker.from_env(env, live=live, **kw)
    if name == "schwab":
        from brokers.schwab import SchwabBroker

        keys = None if state_dir is None else state_dir / "schwab_order_keys.json"
        return SchwabBroker.from_env(env, live=live, key_store=keys, **kw)
    raise NotSupported(f"unknown broker {name!r}; choose one of {', '.join(NAMES)}")


async def preview_with_paper(broker: Broker, paper: Broker, order: OrderRequest) -> Preview:
    """The broker's own preview, or the paper account's where the broker has none."""
    if broker.capabilities.preview:
        return await broker.preview(order)
    return await paper.preview(order)
