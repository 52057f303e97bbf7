"""Client order keys: the same decision always yields the same key, so a retry or a
restart finds the order it already placed instead of placing it again.

The key is sent as tastytrade's `external-identifier`, Alpaca's `client_order_id`, and kept
beside Schwab's order id (Schwab has no client id; see brokers.schwab).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from brokers.model import OrderLeg

PREFIX = "re"  # lets `rules broker check` and reconciliation tell our orders from a human's
_SLUG = re.compile(r"[^a-z0-9]+")


def client_key(
    strategy: str, rule_version: str, decided_at: datetime, legs: tuple[OrderLeg, ...]
) -> str:
    """`re-<strategy>-<hash>`: at most 40 characters, safe for every broker's id field."""
    if decided_at.tzinfo is None:
        raise ValueError("decision time must be timezone-aware")
    leg_text = ",".join(f"{leg.ratio:+d}{leg.symbol}{leg.intent}" for leg in legs)
    material = f"{strategy}|{rule_version}|{decided_at.timestamp():.6f}|{leg_text}"
    digest = hashlib.sha256(material.encode()).hexdigest()[:20]
    slug = _SLUG.sub("_", strategy.lower()).strip("_")[:14] or "order"
    return f"{PREFIX}-{slug}-{digest}"


def is_ours(key: str | None) -> bool:
    return key is not None and key.startswith(PREFIX + "-")
