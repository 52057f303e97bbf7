"""The paper account's state (cash, holdings, orders) and its crash-safe persistence.

The state is one JSON document, replaced atomically (write, fsync, rename) after every
change, so a restart resumes exactly where the last acknowledged change left it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from brokers.model import (
    Fill,
    Intent,
    Order,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    OrderType,
    PriceEffect,
    TimeInForce,
    Walk,
)
from brokers.paper.settings import AccountSettings
from brokers.settlement import SpotHistory


@dataclass
class Holding:
    quantity: int
    average_price: Decimal  # per unit, positive
    multiplier: int
    underlying: str


@dataclass
class Ledger:
    cash: Decimal
    holdings: dict[str, Holding] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    placed_at: dict[str, datetime] = field(default_factory=dict)
    anchors: dict[str, tuple[datetime, Decimal]] = field(default_factory=dict)  # reprice from
    next_id: int = 1
    settlements: list[dict[str, str]] = field(default_factory=list)
    spots: SpotHistory = field(default_factory=SpotHistory)  # settlement prices
    clock: datetime | None = None  # the latest market time the account acted at
    settings: AccountSettings = field(default_factory=AccountSettings)  # as opened
    marks: dict[str, Decimal] = field(default_factory=dict)  # last mark of each holding
    # each order's JSON while it is the same (frozen) object: saves re-encode only changes
    _json: dict[str, tuple[Order, dict[str, Any]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def new_order_id(self) -> str:
        order_id = f"paper-{self.next_id:06d}"
        self.next_id += 1
        return order_id

    def by_key(self, client_key: str) -> Order | None:
        return next((o for o in self.orders.values() if o.client_key == client_key), None)

    def book(self, symbol: str, qty: int, price: Decimal, multiplier: int, underlying: str) -> None:
        """Move cash and holdings for one executed quantity (fees are booked separately)."""
        self.cash -= qty * price * multiplier
        held = self.holdings.get(symbol)
        if held is None or held.quantity == 0:
            self.holdings[symbol] = Holding(qty, price, multiplier, underlying)
            return
        total = held.quantity + qty
        if total == 0:
            del self.holdings[symbol]
        elif (held.quantity > 0) == (qty > 0):  # adding: average the price
            held.average_price = (held.average_price * abs(held.quantity) + price * abs(qty)) / abs(
                total
            )
            held.quantity = total
        elif (held.quantity > 0) != (total > 0):  # flipped through zero
            self.holdings[symbol] = Holding(total, price, multiplier, underlying)
        else:
            held.quantity = total

    def quantities(self) -> dict[str, int]:
        return {s: h.quantity for s, h in self.holdings.items()}

    # -- persistence -------------------------------------------------------------------

    def save(self, path: Path, durable: bool = True) -> None:
        """Replace the file atomically; `durable` waits for the disk (money changed), while
        advisory state (the last marks) only needs the atomic replace."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "w", encoding="utf-8") as out:
            # dumps, not dump: only a one-shot encode runs json's C encoder
            out.write(json.dumps(self._to_json(), sort_keys=True, separators=(",", ":")))
            out.flush()
            if durable:
                os.fsync(out.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Ledger:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            cash=Decimal(data["cash"]),
            holdings={
                s: Holding(
                    h["quantity"], Decimal(h["average_price"]), h["multiplier"], h["underlying"]
                )
                for s, h in data["holdings"].items()
            },
            orders={o["id"]: _order_from(o) for o in data["orders"]},
            placed_at={k: datetime.fromisoformat(v) for k, v in data["placed_at"].items()},
            anchors={
                k: (datetime.fromisoformat(t), Decimal(p)) for k, (t, p) in data["anchors"].items()
            },
            next_id=data["next_id"],
            settlements=data.get("settlements", []),
            spots=SpotHistory.from_json(data.get("spots", {})),
            clock=datetime.fromisoformat(data["clock"]) if data.get("clock") else None,
            settings=AccountSettings.from_json(data.get("settings")),
            marks={s: Decimal(m) for s, m in data.get("marks", {}).items()},
        )

    def _encoded(self, order: Order) -> dict[str, Any]:
        """An order as JSON, kept while the order is the same object (orders are frozen: a
        change replaces them), so a save re-encodes only what changed since the last."""
        kept = self._json.get(order.id)
        if kept is None or kept[0] is not order:
            kept = (order, _order_to(order))
            self._json[order.id] = kept
        return kept[1]

    def _to_json(self) -> dict[str, Any]:
        return {
            "cash": str(self.cash),
            "settings": self.settings.to_json(),
            "marks": {s: str(m) for s, m in self.marks.items()},
            "holdings": {
                s: {
                    "quantity": h.quantity,
                    "average_price": str(h.average_price),
                    "multiplier": h.multiplier,
                    "underlying": h.underlying,
                }
                for s, h in self.holdings.items()
            },
            "orders": [self._encoded(o) for o in self.orders.values()],
            "placed_at": {k: v.isoformat() for k, v in self.placed_at.items()},
            "anchors": {k: [t.isoformat(), str(p)] for k, (t, p) in self.anchors.items()},
            "next_id": self.next_id,
            "settlements": self.settlements,
            "spots": self.spots.to_json(),
            "clock": self.clock.isoformat() if self.clock else None,
        }


def _order_to(o: Order) -> dict[str, Any]:
    r = o.request
    return {
        "id": o.id,
        "client_key": o.client_key,
        "status": o.status.value,
        "filled_quantity": o.filled_quantity,
        "average_price": None if o.average_price is None else str(o.average_price),
        "reason": o.reason,
        "updated": o.updated.isoformat() if o.updated else None,
        "replaced_by": o.replaced_by,
        "fills": [
            {
                "order_id": f.order_id,
                "symbol": f.symbol,
                "quantity": f.quantity,
                "price": str(f.price),
                "time": f.time.isoformat(),
                "fees": str(f.fees),
                "fill_id": f.fill_id,
            }
            for f in o.fills
        ],
        "request": {
            "legs": [[leg.symbol, leg.ratio, leg.intent.value] for leg in r.legs],
            "quantity": r.quantity,
            "limit_price": str(r.limit_price),
            "effect": r.effect.value,
            "client_key": r.client_key,
            "time_in_force": r.time_in_force.value,
            "underlying": r.underlying,
            "walk": None
            if r.walk is None
            else [r.walk.every_s, r.walk.ticks, None if r.walk.stop is None else str(r.walk.stop)],
            "order_type": r.order_type.value,
            "stop_price": None if r.stop_price is None else str(r.stop_price),
        },
    }


def _walk_from(saved: list | None) -> Walk | None:
    if saved is None:
        return None
    every, ticks, stop = saved
    return Walk(float(every), int(ticks), None if stop is None else Decimal(stop))


def _order_from(d: dict[str, Any]) -> Order:
    r = d["request"]
    request = OrderRequest(
        legs=tuple(OrderLeg(s, ratio, Intent(i)) for s, ratio, i in r["legs"]),
        quantity=r["quantity"],
        limit_price=Decimal(r["limit_price"]),
        effect=PriceEffect(r["effect"]),
        client_key=r["client_key"],
        time_in_force=TimeInForce(r["time_in_force"]),
        underlying=r["underlying"],
        walk=_walk_from(r.get("walk")),
        order_type=OrderType(r.get("order_type", "limit")),
        stop_price=Decimal(r["stop_price"]) if r.get("stop_price") else None,
    )
    fills = tuple(
        Fill(
            f["order_id"],
            f["symbol"],
            f["quantity"],
            Decimal(f["price"]),
            datetime.fromisoformat(f["time"]),
            Decimal(f["fees"]),
            f["fill_id"],
        )
        for f in d["fills"]
    )
    return Order(
        id=d["id"],
        client_key=d["client_key"],
        status=OrderStatus(d["status"]),
        request=request,
        filled_quantity=d["filled_quantity"],
        average_price=None if d["average_price"] is None else Decimal(d["average_price"]),
        fills=fills,
        reason=d["reason"],
        updated=datetime.fromisoformat(d["updated"]) if d["updated"] else None,
        replaced_by=d["replaced_by"],
    )
