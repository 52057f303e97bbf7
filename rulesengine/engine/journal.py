"""The journal: one SQLite database (WAL) under the data directory holding everything the
engine decided and did: rule versions, decisions with their reasons, orders with idempotency
keys, fills, positions and their lineage, breaker locks, alerts and account snapshots.

Rows the engine may write twice (a tick re-run after a crash) have deterministic ids and are
upserted, so a restarted run converges to the same journal as an uninterrupted one. Every
order intent is committed before it is sent, and every acknowledgement right after.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from rulesengine.engine.positions import Position, PositionLeg

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rule_versions(
  id TEXT PRIMARY KEY, name TEXT, file TEXT NOT NULL, sha256 TEXT NOT NULL, text TEXT NOT NULL,
  loaded_at TEXT NOT NULL, status TEXT NOT NULL, diagnostics TEXT);
CREATE TABLE IF NOT EXISTS decisions(
  id TEXT PRIMARY KEY, at TEXT NOT NULL, strategy TEXT NOT NULL, version TEXT,
  kind TEXT NOT NULL, subject TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT NOT NULL,
  detail TEXT);
CREATE INDEX IF NOT EXISTS decisions_subject ON decisions(subject);
CREATE TABLE IF NOT EXISTS orders(
  key TEXT PRIMARY KEY, broker_id TEXT, strategy TEXT NOT NULL, position_id TEXT,
  purpose TEXT NOT NULL, status TEXT NOT NULL, quantity INTEGER NOT NULL,
  filled INTEGER NOT NULL DEFAULT 0, average_price TEXT, limit_price TEXT NOT NULL,
  effect TEXT NOT NULL, legs TEXT NOT NULL, reason TEXT, created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fills(
  id TEXT PRIMARY KEY, order_key TEXT NOT NULL, symbol TEXT NOT NULL,
  quantity INTEGER NOT NULL, price TEXT NOT NULL, fees TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS positions(
  id TEXT PRIMARY KEY, strategy TEXT NOT NULL, version TEXT, underlying TEXT, status TEXT,
  legs TEXT NOT NULL, quantity INTEGER, ordered INTEGER, entry_price REAL, max_profit REAL,
  max_loss REAL, high_water_pnl REAL, opened_at TEXT, closed_at TEXT, exit_reason TEXT,
  realised_pnl REAL, fees REAL, parent_id TEXT, root_id TEXT, roll_number INTEGER,
  entry_key TEXT, exit_key TEXT, last_mark REAL, detail TEXT);
CREATE TABLE IF NOT EXISTS locks(
  id TEXT PRIMARY KEY, scope TEXT NOT NULL, name TEXT NOT NULL, action TEXT NOT NULL,
  reason TEXT NOT NULL, started_at TEXT NOT NULL, until TEXT, lifted_at TEXT, lifted_by TEXT);
CREATE TABLE IF NOT EXISTS alerts(
  id TEXT PRIMARY KEY, at TEXT NOT NULL, level TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots(
  at TEXT PRIMARY KEY, net_liq REAL, cash REAL, buying_power REAL, day_pnl REAL,
  open_positions INTEGER, detail TEXT);
-- notifications: queued with the tick that caused them, sent by the dispatcher (notify/)
CREATE TABLE IF NOT EXISTS outbox(
  id TEXT PRIMARY KEY, channel TEXT NOT NULL, event TEXT NOT NULL, severity TEXT NOT NULL,
  at TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL DEFAULT 0, error TEXT,
  sent_at TEXT);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(channel, status, next_try);
-- each hot reload attempt and what it said (versions, clause changes, shadow diffs, refusals)
CREATE TABLE IF NOT EXISTS reloads(
  at TEXT NOT NULL, active INTEGER NOT NULL, version TEXT NOT NULL, report TEXT NOT NULL);
-- the drawdown breaker reads the peak every tick: an intraday replay writes thousands of rows
CREATE INDEX IF NOT EXISTS snapshots_net_liq ON snapshots(net_liq);
"""


def stable_id(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Lock:
    id: str
    scope: str  # a strategy's name, 'portfolio', or 'kill'
    name: str  # the breaker's name
    action: str  # alert | block_entries | reduce_only | halt | close_all
    reason: str
    started_at: datetime
    until: datetime | None  # None: until lifted by hand
    lifted_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.lifted_at is None and (self.until is None or now < self.until)


@dataclass(frozen=True)
class OrderRecord:
    """One order as the journal keeps it: committed before the broker hears of it (status
    `pending`), then following the broker (`working`, `partially_filled`, `filled`,
    `cancelled`, `expired`, `rejected`), or `unknown` after an ambiguous send and `not_sent`
    when the broker has no order with its key."""

    key: str  # the idempotency key sent to the broker
    strategy: str
    position_id: str | None
    purpose: str  # entry | exit | roll
    status: str
    quantity: int
    limit_price: str
    effect: str
    legs: str  # `-1 SPX... open; +1 SPX... open`, for people
    created_at: str
    updated_at: str
    broker_id: str | None = None
    filled: int = 0
    average_price: str | None = None
    reason: str | None = None

    def moved(self, **changes: Any) -> OrderRecord:
        return replace(self, **changes)


class Journal:
    def __init__(self, path: Path, power_safe: bool = True):
        """`power_safe` (live trading): every commit reaches the disk before the engine goes
        on, so an acknowledged order survives a power loss. A paper session commits without
        waiting for the disk (WAL, synchronous=NORMAL): a killed process still loses nothing,
        and an OS crash can only drop its last ticks, which a resumed replay runs again."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level="DEFERRED")
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={'FULL' if power_safe else 'NORMAL'}")
        self.db.executescript(SCHEMA)
        self.db.commit()
        self._marked: dict[str, tuple] = {}  # the marks last written per position

    def close(self) -> None:
        self.db.commit()
        self.db.close()

    def commit(self) -> None:
        self.db.commit()

    # ---------------------------------------------------------------- meta
    def get(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else row["value"]

    def put(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # ---------------------------------------------------------------- rule versions
    def record_version(
        self,
        version: str,
        name: str,
        file: str,
        text: str,
        at: datetime,
        status: str,
        diagnostics: str = "",
    ) -> None:
        sha = hashlib.sha256(text.encode()).hexdigest()
        self.db.execute(
            "INSERT OR IGNORE INTO rule_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (version, name, file, sha, text, at.isoformat(), status, diagnostics),
        )

    def record_reload(self, at: datetime, active: bool, version: str, report: list[str]) -> None:
        self.db.execute(
            "INSERT INTO reloads VALUES (?, ?, ?, ?)",
            (at.isoformat(), int(active), version, "\n".join(report)),
        )

    # ---------------------------------------------------------------- decisions
    def decide(
        self,
        at: datetime,
        strategy: str,
        version: str | None,
        kind: str,
        subject: str,
        outcome: str,
        reason: str,
        detail: dict | None = None,
    ) -> str:
        """Record one decision; the same decision at the same time is written once."""
        decision_id = stable_id(at.isoformat(), strategy, kind, subject)
        self.db.execute(
            "INSERT OR REPLACE INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                decision_id,
                at.isoformat(),
                strategy,
                version,
                kind,
                subject,
                outcome,
                reason,
                json.dumps(detail or {}, sort_keys=True, default=str),
            ),
        )
        return decision_id

    def decisions(self, subject: str | None = None, limit: int = 1000) -> list[sqlite3.Row]:
        if subject is None:
            sql = "SELECT * FROM decisions ORDER BY at DESC, id LIMIT ?"
            return self.db.execute(sql, (limit,)).fetchall()
        sql = (
            "SELECT * FROM decisions WHERE subject=? OR id=? OR detail LIKE ? "
            "ORDER BY at, id LIMIT ?"
        )
        mention = f'%"{subject}"%'  # e.g. the candidate decision that opened a position
        return self.db.execute(sql, (subject, subject, mention, limit)).fetchall()

    def decisions_of(self, kind: str, outcome: str | None = None) -> list[sqlite3.Row]:
        """Every decision of one kind (and outcome), oldest first."""
        if outcome is None:
            sql = "SELECT * FROM decisions WHERE kind=? ORDER BY at, id"
            return self.db.execute(sql, (kind,)).fetchall()
        sql = "SELECT * FROM decisions WHERE kind=? AND outcome=? ORDER BY at, id"
        return self.db.execute(sql, (kind, outcome)).fetchall()

    def decision_counts(self) -> dict[str, int]:
        """How many decisions of each kind."""
        rows = self.db.execute("SELECT kind, COUNT(*) AS n FROM decisions GROUP BY kind")
        return {row["kind"]: row["n"] for row in rows}

    def rows_after(self, table: str, rowid: int) -> list[sqlite3.Row]:
        """Rows of a journal table written after `rowid` (what one tick added)."""
        if table not in {"decisions", "orders", "alerts", "fills", "positions", "locks"}:
            raise ValueError(f"no journal table {table!r}")
        sql = f"SELECT rowid, * FROM {table} WHERE rowid > ? ORDER BY rowid"
        return self.db.execute(sql, (rowid,)).fetchall()

    def fills(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM fills ORDER BY at, id").fetchall()

    # ---------------------------------------------------------------- orders and fills
    def save_order(self, order: OrderRecord) -> None:
        row = asdict(order)
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        updates = ", ".join(f"{c}=excluded.{c}" for c in row if c not in {"key", "created_at"})
        self.db.execute(
            f"INSERT INTO orders({columns}) VALUES ({marks}) "
            f"ON CONFLICT(key) DO UPDATE SET {updates}",
            tuple(row.values()),
        )

    def order(self, key: str) -> OrderRecord | None:
        row = self.db.execute("SELECT * FROM orders WHERE key=?", (key,)).fetchone()
        return None if row is None else OrderRecord(**dict(row))

    def orders(self, statuses: tuple[str, ...] | None = None) -> list[OrderRecord]:
        if statuses is None:
            rows = self.db.execute("SELECT * FROM orders ORDER BY created_at, key").fetchall()
        else:
            marks = ", ".join("?" for _ in statuses)
            sql = f"SELECT * FROM orders WHERE status IN ({marks}) ORDER BY created_at, key"
            rows = self.db.execute(sql, statuses).fetchall()
        return [OrderRecord(**dict(row)) for row in rows]

    def sent_at(self, strategy: str, purpose: str, at: datetime) -> int:
        """How many orders of this kind decided at `at` the broker got (or may have got)."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM orders WHERE strategy=? AND purpose=? AND created_at=? "
            "AND status != 'not_sent'",
            (strategy, purpose, at.isoformat()),
        ).fetchone()
        return int(row[0])

    def add_fill(
        self, fill_id: str, key: str, symbol: str, qty: int, price, fees, at: datetime
    ) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO fills VALUES (?, ?, ?, ?, ?, ?, ?)",
            (fill_id, key, symbol, qty, str(price), str(fees), at.isoformat()),
        )

    # ---------------------------------------------------------------- positions
    def save_position(self, p: Position) -> None:
        self._marked[p.id] = (p.high_water_pnl, p.last_mark, dict(p.detail))
        row = {name: getattr(p, name) for name in _PLAIN_POSITION_COLUMNS}
        row.update(
            legs=json.dumps(p.legs_json()),
            opened_at=p.opened_at.isoformat(),
            closed_at=p.closed_at.isoformat() if p.closed_at else None,
            detail=json.dumps(p.detail, sort_keys=True, default=str),
        )
        self._replace("positions", row)

    def save_marks(self, positions: list[Position]) -> None:
        """A tick's marks of positions already saved: the fields marking changes, in one
        statement, for the positions whose marks changed since they were last written (a
        live poll every few seconds often sees the same quotes). A position not saved yet is
        saved whole."""
        changed = []
        for p in positions:
            state = (p.high_water_pnl, p.last_mark, p.detail)
            if self._marked.get(p.id) != state:
                changed.append(p)
                self._marked[p.id] = (p.high_water_pnl, p.last_mark, dict(p.detail))
        cursor = self.db.executemany(
            "UPDATE positions SET high_water_pnl=?, last_mark=?, detail=? WHERE id=?",
            [
                (
                    p.high_water_pnl,
                    p.last_mark,
                    json.dumps(p.detail, sort_keys=True, default=str),
                    p.id,
                )
                for p in changed
            ],
        )
        if cursor.rowcount != len(changed):
            for p in changed:
                self.save_position(p)

    def _replace(self, table: str, row: dict) -> None:
        marks = ", ".join("?" for _ in row)
        self.db.execute(
            f"INSERT OR REPLACE INTO {table}({', '.join(row)}) VALUES ({marks})",
            tuple(row.values()),
        )

    def positions(self, statuses: tuple[str, ...] | None = None) -> list[Position]:
        rows = self.db.execute("SELECT * FROM positions ORDER BY opened_at, id").fetchall()
        found = [_position(row) for row in rows]
        return found if statuses is None else [p for p in found if p.status in statuses]

    def position(self, position_id: str) -> Position | None:
        row = self.db.execute("SELECT * FROM positions WHERE id=?", (position_id,)).fetchone()
        return None if row is None else _position(row)

    # ---------------------------------------------------------------- locks and alerts
    def save_lock(self, lock: Lock) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO locks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                lock.id,
                lock.scope,
                lock.name,
                lock.action,
                lock.reason,
                lock.started_at.isoformat(),
                lock.until.isoformat() if lock.until else None,
                lock.lifted_at.isoformat() if lock.lifted_at else None,
                None,
            ),
        )

    def locks(self) -> list[Lock]:
        rows = self.db.execute("SELECT * FROM locks ORDER BY started_at, id").fetchall()
        return [
            Lock(
                r["id"],
                r["scope"],
                r["name"],
                r["action"],
                r["reason"],
                datetime.fromisoformat(r["started_at"]),
                datetime.fromisoformat(r["until"]) if r["until"] else None,
                datetime.fromisoformat(r["lifted_at"]) if r["lifted_at"] else None,
            )
            for r in rows
        ]

    def lift(self, name: str, at: datetime, by: str) -> list[Lock]:
        """Lift every unlifted lock called `name` ('all': every one); returns those lifted."""
        lifted = [
            lock for lock in self.locks() if lock.lifted_at is None and name in {"all", lock.name}
        ]
        for lock in lifted:
            self.db.execute(
                "UPDATE locks SET lifted_at=?, lifted_by=? WHERE id=?",
                (at.isoformat(), by, lock.id),
            )
        self.db.commit()
        return lifted

    def alert(self, at: datetime, level: str, message: str) -> bool:
        """Record an alert; False when the same alert was already recorded at that time."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO alerts VALUES (?, ?, ?, ?)",
            (stable_id(at.isoformat(), message), at.isoformat(), level, message),
        )
        return cursor.rowcount == 1

    def alerts(self, limit: int = 20) -> list[sqlite3.Row]:
        sql = "SELECT * FROM alerts ORDER BY at DESC LIMIT ?"
        return self.db.execute(sql, (limit,)).fetchall()

    # ---------------------------------------------------------------- account snapshots
    def snapshot(self, at: datetime, values: dict) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                at.isoformat(),
                values.get("net_liq"),
                values.get("cash"),
                values.get("buying_power"),
                values.get("day_pnl"),
                values.get("open_positions"),
                json.dumps(values, sort_keys=True, default=str),
            ),
        )

    def snapshots(self) -> Iterator[sqlite3.Row]:
        return iter(self.db.execute("SELECT * FROM snapshots ORDER BY at").fetchall())

    def net_liq_before(self, at: datetime) -> float | None:
        row = self.db.execute(
            "SELECT net_liq FROM snapshots WHERE at < ? ORDER BY at DESC LIMIT 1", (at.isoformat(),)
        ).fetchone()
        return None if row is None else row["net_liq"]

    def peak_net_liq(self) -> float | None:
        row = self.db.execute("SELECT MAX(net_liq) AS peak FROM snapshots").fetchone()
        return row["peak"]


_PLAIN_POSITION_COLUMNS = [
    "id",
    "strategy",
    "version",
    "underlying",
    "entry_key",
    "quantity",
    "ordered",
    "entry_price",
    "max_profit",
    "max_loss",
    "status",
    "high_water_pnl",
    "parent_id",
    "root_id",
    "roll_number",
    "exit_key",
    "exit_reason",
    "realised_pnl",
    "fees",
    "last_mark",
]


def _position(row: sqlite3.Row) -> Position:
    return Position(
        **{name: row[name] for name in _PLAIN_POSITION_COLUMNS},
        legs=[PositionLeg(**leg) for leg in json.loads(row["legs"])],
        opened_at=datetime.fromisoformat(row["opened_at"]),
        closed_at=datetime.fromisoformat(row["closed_at"]) if row["closed_at"] else None,
        detail=json.loads(row["detail"] or "{}"),
    )


def canonical(journal: Journal, decisions: bool = True) -> dict:
    """The journal as sorted, rounded plain data: what snapshot and parity tests compare.
    Wall-clock columns (a rule version's load time, lock lifts by hand) are left out."""

    def rows(sql: str) -> list[dict]:
        return [_rounded(dict(r)) for r in journal.db.execute(sql)]

    out = {
        "positions": rows(
            "SELECT id, strategy, status, legs, quantity, ordered, entry_price, max_profit, "
            "max_loss, opened_at, closed_at, exit_reason, realised_pnl, fees, parent_id, root_id, "
            "roll_number, entry_key, exit_key FROM positions ORDER BY id"
        ),
        "orders": rows(
            "SELECT key, broker_id, strategy, position_id, purpose, status, quantity, filled, "
            "average_price, limit_price, effect, legs, reason FROM orders ORDER BY key"
        ),
        "fills": rows(
            "SELECT id, order_key, symbol, quantity, price, fees, at FROM fills ORDER BY id"
        ),
        "locks": rows(
            "SELECT scope, name, action, reason, started_at, until FROM locks ORDER BY id"
        ),
    }
    if decisions:
        out["decisions"] = rows(
            "SELECT at, strategy, kind, subject, outcome, reason FROM decisions ORDER BY at, id"
        )
    return out


def _rounded(row: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
