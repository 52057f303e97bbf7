"""`rules broker check`: credentials, connectivity, and what the account can trade."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from brokers.errors import BrokerError, CredentialsMissing, LiveTradingNotEnabled
from brokers.protocol import Broker
from brokers.registry import open_broker


def run(args) -> int:
    try:
        broker = open_broker(args.broker, live=args.live, state_dir=Path(args.data_dir))
    except (CredentialsMissing, LiveTradingNotEnabled) as error:
        print(f"rules broker check: {error}", file=sys.stderr)
        return 2
    try:
        lines = asyncio.run(_check_and_close(broker))
    except BrokerError as error:
        print(f"rules broker check: {error}", file=sys.stderr)
        return 2 if isinstance(error, LiveTradingNotEnabled) else 1
    print("\n".join(lines))
    return 0


async def _check_and_close(broker: Broker) -> list[str]:
    try:
        return await check(broker)
    finally:
        await broker.aclose()


async def check(broker: Broker) -> list[str]:
    """Read the account and positions; describe the mode and the adapter's abilities."""
    account = await broker.account()
    positions = await broker.positions()
    options = sum(1 for p in positions if len(p.symbol) == 21)
    caps = broker.capabilities
    mode = (
        "LIVE (real money)"
        if broker.live
        else ("paper" if broker.name == "paper" else "sandbox / paper endpoint")
    )
    lines = [
        f"broker:    {broker.name} ({mode})",
        f"account:   {account.account_id}",
        f"net liq:   ${account.net_liquidation:,.2f}",
        f"buying power: ${account.buying_power:,.2f}   "
        f"option buying power: ${account.option_buying_power:,.2f}",
    ]
    if account.option_level is not None:
        lines.append(f"option level: {account.option_level}")
    lines.append(
        f"positions: {len(positions)} ({options} options, {len(positions) - options} other)"
    )
    lines.append(
        "can:       multi-leg limit orders; "
        f"preview {'yes' if caps.preview else 'no (the paper account previews)'}; "
        f"replace {'yes' if caps.replace else 'no'}; "
        f"streaming quotes {'yes' if caps.streaming_quotes else 'no (polled)'}; "
        f"client order ids {'yes' if caps.client_order_ids else 'no (matched by id/legs)'}"
    )
    lines += [f"note:      {note}" for note in caps.notes]
    lines += [f"WARNING:   {warning}" for warning in account.warnings]
    lines.append("ok: credentials and connectivity verified")
    return lines
