"""Broker adapters behind one Protocol: paper (the default), tastytrade, Alpaca, Schwab.

The engine talks to `brokers.protocol.Broker` only; every broker's wire format is normalised
into `brokers.model` inside its adapter. Nothing here knows about rules.
"""

from brokers.model import (
    Account,
    ChainEntry,
    Fill,
    Intent,
    Order,
    OrderEvent,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    Position,
    Preview,
    PriceEffect,
    Quote,
)
from brokers.protocol import Broker
from brokers.registry import NAMES, open_broker, preview_with_paper

__all__ = [
    "NAMES",
    "Account",
    "Broker",
    "ChainEntry",
    "Fill",
    "Intent",
    "Order",
    "OrderEvent",
    "OrderLeg",
    "OrderRequest",
    "OrderStatus",
    "Position",
    "Preview",
    "PriceEffect",
    "Quote",
    "open_broker",
    "preview_with_paper",
]
