"""Read-only views of a journal for the API: plain dicts, one short connection per call.

Every call opens its own read-only SQLite connection (the API answers from worker threads,
and a running engine keeps writing in WAL mode: a reader sees each tick whole, once it is
committed)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rulesengine.engine.session import JOURNAL_FILE
from rulesengine.notify.outbox import Outbox

STREAMED = ("decisions", "orders", "fills", "alerts", "locks", "rule_versions", "reloads")


class JournalMissing(Exception):
    pass


class JournalReader:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.path = data_dir / JOURNAL_FILE
        if not self.path.exists():
            raise JournalMissing(
                f"no journal at {self.path}: start the engine with `rules run --data-dir "
                f"{data_dir}`, or pass the --data-dir of a run or backtest"
            )

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)) as db:
            db.row_factory = sqlite3.Row
            yield db

    def _rows(self, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
        with self._db() as db:
            return [dict(row) for row in db.execute(sql, args).fetchall()]

    def meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0]["value"] if rows else None

    # ------------------------------------------------------------ account and P&L
    def account(self) -> dict[str, Any]:
        rows = self._rows("SELECT * FROM snapshots ORDER BY at DESC LIMIT 1")
        if not rows:
            return {}
        last = rows[0]
        values = json.loads(last.pop("detail") or "{}")
        first = self._rows("SELECT net_liq FROM snapshots ORDER BY at LIMIT 1")[0]["net_liq"]
        return {**values, **last, "starting_net_liq": first}

    def equity(self, limit: int = 2000) -> list[dict[str, Any]]:
        """The account's net liq over time (the day's last snapshot when there are many)."""
        rows = self._rows("SELECT at, net_liq, cash FROM snapshots ORDER BY at")
        if len(rows) > limit:
            daily: dict[str, dict] = {}
            for row in rows:
                daily[row["at"][:10]] = row
            rows = list(daily.values())
        return rows[-limit:]

    def pnl(self, period: str) -> list[dict[str, Any]]:
        """P&L per day, ISO week or month: the change of net liq (marks included) over the
        period, and the P&L realised by positions closed in it."""
        closes: dict[str, float] = {}
        for row in self._rows("SELECT at, net_liq FROM snapshots ORDER BY at"):
            closes[_period(row["at"], period)] = row["net_liq"]
        realised: dict[str, float] = {}
        for row in self._rows(
            "SELECT closed_at, realised_pnl FROM positions WHERE status='closed' "
            "AND closed_at IS NOT NULL"
        ):
            key = _period(row["closed_at"], period)
            realised[key] = realised.get(key, 0.0) + (row["realised_pnl"] or 0.0)
        out = []
        first = self._rows("SELECT net_liq FROM snapshots ORDER BY at LIMIT 1")
        previous = first[0]["net_liq"] if first else None
        for key, net_liq in closes.items():
            change = None if previous is None or net_liq is None else round(net_liq - previous, 2)
            out.append(
                {
                    "period": key,
                    "net_liq": net_liq,
                    "pnl": change,
                    "realised": round(realised.get(key, 0.0), 2),
                }
            )
            previous = net_liq
        return out

    # ------------------------------------------------------------ positions and orders
    def positions(self, include_closed: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT * FROM positions"
        if not include_closed:
            sql += " WHERE status IN ('opening', 'open', 'closing')"
        return [_position(row) for row in self._rows(sql + " ORDER BY opened_at, id")]

    def counts(self) -> dict[str, Any]:
        """Positions by status, and the P&L realised by the closed ones."""
        rows = self._rows(
            "SELECT status, COUNT(*) AS n, SUM(COALESCE(realised_pnl, 0)) AS realised "
            "FROM positions GROUP BY status"
        )
        by_status = {r["status"]: r["n"] for r in rows}
        realised = sum(r["realised"] or 0.0 for r in rows if r["status"] == "closed")
        return {"by_status": by_status, "realised_pnl": round(realised, 2)}

    def position(self, position_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM positions WHERE id=?", (position_id,))
        return _position(rows[0]) if rows else None

    def orders(self, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        if status is None:
            return self._rows("SELECT * FROM orders ORDER BY updated_at DESC LIMIT ?", (limit,))
        sql = "SELECT * FROM orders WHERE status=? ORDER BY updated_at DESC LIMIT ?"
        return self._rows(sql, (status, limit))

    # ------------------------------------------------------------ decisions
    def decisions(
        self, kind: str | None = None, strategy: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        where, args = [], []
        if kind:
            where.append("kind=?")
            args.append(kind)
        if strategy:
            where.append("strategy=?")
            args.append(strategy)
        sql = "SELECT * FROM decisions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._rows(sql + " ORDER BY at DESC, id LIMIT ?", (*args, limit))
        return [_decision(row) for row in rows]

    def why(self, subject: str) -> dict[str, Any] | None:
        """Everything the journal says about a position, candidate or decision id."""
        mention = f'%"{subject}"%'
        rows = self._rows(
            "SELECT * FROM decisions WHERE subject=? OR id=? OR detail LIKE ? ORDER BY at, id",
            (subject, subject, mention),
        )
        position = self.position(subject)
        if not rows and position is None:
            return None
        orders = []
        if position is not None:
            keys = [k for k in (position["entry_key"], position["exit_key"]) if k]
            for key in keys:
                orders += self._rows("SELECT * FROM orders WHERE key=?", (key,))
        return {
            "subject": subject,
            "position": position,
            "orders": orders,
            "decisions": [_decision(r) for r in rows],
        }

    def funnel(self) -> list[dict[str, Any]]:
        """Each strategy's last scan: candidates and the funnel of clauses they went through."""
        rows = self._rows(
            "SELECT d.* FROM decisions d JOIN (SELECT strategy, MAX(at) AS at FROM decisions "
            "WHERE kind='scan' GROUP BY strategy) last ON d.strategy=last.strategy "
            "AND d.at=last.at WHERE d.kind='scan' ORDER BY d.strategy"
        )
        return [_decision(row) for row in rows]

    # ------------------------------------------------------------ risk and rules
    def locks(self, active_at: datetime | None = None) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM locks ORDER BY started_at DESC, id")
        if active_at is None:
            return rows
        now = active_at.isoformat()
        return [
            r
            for r in rows
            if r["lifted_at"] is None
            and (r["until"] is None or _after(r["until"], active_at))
            and r["started_at"] <= now
        ]

    def alerts(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM alerts ORDER BY at DESC, id LIMIT ?", (limit,))

    def notifications(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._db() as db:
            return Outbox(db).recent(limit)

    def rule_versions(self) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT id, name, file, sha256, loaded_at, status, diagnostics, text "
            "FROM rule_versions ORDER BY loaded_at DESC, file"
        )

    def reloads(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM reloads ORDER BY rowid DESC LIMIT ?", (limit,))
        return [
            {**r, "active": bool(r["active"]), "report": r["report"].splitlines()} for r in rows
        ]

    # ------------------------------------------------------------ the event stream
    def high_water(self) -> dict[str, int]:
        with self._db() as db:
            return {
                t: db.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {t}").fetchone()[0]
                for t in STREAMED
            }

    def since(self, marks: dict[str, int], limit: int = 500) -> list[tuple[str, int, dict]]:
        """Rows written after `marks` (table -> rowid), oldest first within each table."""
        found = []
        with self._db() as db:
            for table in STREAMED:
                rows = db.execute(
                    f"SELECT rowid AS _rowid, * FROM {table} WHERE rowid > ? ORDER BY rowid "
                    "LIMIT ?",
                    (marks.get(table, 0), limit),
                ).fetchall()
                for row in rows:
                    data = dict(row)
                    rowid = data.pop("_rowid")
                    if table == "decisions":
                        data = _decision(data)
                    elif table == "rule_versions":
                        data.pop("text", None)
                    found.append((table, rowid, data))
        return found


def _position(row: dict[str, Any]) -> dict[str, Any]:
    detail = json.loads(row.pop("detail") or "{}")
    row["legs"] = json.loads(row["legs"] or "[]")
    row["marked_by_model"] = bool(detail.get("marked_by_model"))
    row["pnl"] = detail.get("pnl")
    row["underlying_price"] = detail.get("underlying_price")
    row["delta"] = detail.get("delta")  # the position's: shares of the underlying
    row["vega"] = detail.get("vega")  # dollars per volatility point
    row["detail"] = detail
    return row


def _decision(row: dict[str, Any]) -> dict[str, Any]:
    row["detail"] = json.loads(row.get("detail") or "{}")
    return row


def _period(stamp: str, period: str) -> str:
    day = date.fromisoformat(stamp[:10])
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return stamp[:7]
    return stamp[:10]


def _after(until: str, now: datetime) -> bool:
    return datetime.fromisoformat(until) > now
