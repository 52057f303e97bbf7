"""Schwab has no client order id: which of the account's orders is which of our keys.

Each key maps to Schwab's order id once known. Before a POST the order's body and time are
kept (an *intent*), so an order whose id was lost (a timeout, a 2xx without `Location`, a crash
between the POST and its answer) can be found among the account's orders later, after a
restart too: the store is a JSON file in the data directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from brokers.schwab_wire import fingerprint


class OrderKeys:
    """client key -> Schwab order id, and the order body and time of every send whose id is
    not known yet; kept in a JSON file when a path is given (it survives a restart)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        saved = json.loads(path.read_text()) if path and path.exists() else {}
        if "ids" not in saved:  # the first format: {key: id}
            saved = {"ids": saved, "intents": {}}
        self._ids: dict[str, str] = saved["ids"]
        self._intents: dict[str, dict[str, Any]] = saved["intents"]

    def put(self, key: str, order_id: str) -> None:
        self._ids[key] = order_id
        self._intents.pop(key, None)
        self._save()

    def intend(self, key: str, body: dict[str, Any], at: datetime) -> None:
        if key not in self._ids:
            self._intents[key] = {"body": body, "sent": at.isoformat()}
            self._save()

    def pending_before(self, key: str, alike: Callable[[dict[str, Any]], bool]) -> int:
        """How many unresolved sends of an identical order came before `key`'s (all of them
        when `key` has none recorded)."""
        mine = self._intents.get(key)
        return sum(
            1
            for other, intent in self._intents.items()
            if other != key
            and alike(intent["body"])
            and (mine is None or (intent["sent"], other) < (mine["sent"], key))
        )

    def earliest_intent(self) -> datetime | None:
        times = [datetime.fromisoformat(i["sent"]) for i in self._intents.values()]
        return min(times) if times else None

    def intent(self, key: str) -> tuple[dict[str, Any], datetime] | None:
        found = self._intents.get(key)
        return None if found is None else (found["body"], datetime.fromisoformat(found["sent"]))

    def _save(self) -> None:
        if self._path is not None:
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"ids": self._ids, "intents": self._intents}, indent=1))
            tmp.replace(self._path)

    def get(self, key: str) -> str | None:
        return self._ids.get(key)

    def ids(self) -> list[str]:
        return list(self._ids.values())

    def claim(
        self, key: str, body: dict[str, Any], rows: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        """The account's order (among `rows`) that is `key`'s, now recorded as such.
        Identical orders (same legs, quantity, type and price) go to the sends that may have
        placed them first come, first served: one order is never claimed by two intents, nor
        by an intent still behind an earlier unresolved one."""
        wanted = fingerprint(body)
        known = set(self.ids())
        unclaimed = sorted(
            (r for r in rows if str(r.get("orderId")) not in known and fingerprint(r) == wanted),
            key=lambda r: (str(r.get("enteredTime", "")), int(r.get("orderId", 0))),
        )
        ahead = self.pending_before(key, lambda b: fingerprint(b) == wanted)
        if ahead >= len(unclaimed):
            return None
        row = unclaimed[ahead]
        self.put(key, str(row["orderId"]))
        return row

    def key_of(self, order_id: str) -> str:
        return next((k for k, v in self._ids.items() if v == order_id), "")
