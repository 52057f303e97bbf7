"""The daily report: the session's P&L, trades with their fills and slippage, open risk,
breaker activity, the top rejection reasons and rule changes, from the journal alone."""

from __future__ import annotations

import json
from datetime import date

from rulesengine.backtest.rejections import rejected_candidates
from rulesengine.engine.journal import Journal
from rulesengine.reports.render import Report, Section, money
from rulesengine.reports.trades import Trade, ny_date


def daily_report(journal: Journal, day: date) -> Report:
    trades = [Trade(p) for p in journal.positions() if p.status not in {"unfilled"}]
    account, pnl = _account(journal, day)
    opened = [t for t in trades if t.opened == day]
    closed = [t for t in trades if t.closed == day]
    realised = sum(t.realised for t in closed)
    summary = (
        f"day P&L {money(pnl)}, realised {money(realised)}; {len(opened)} opened, "
        f"{len(closed)} closed; net liq {money(account.get('net_liq'), False)}"
    )
    report = Report(f"Daily report {day.isoformat()}", summary)
    report.sections += [
        _account_section(account, pnl, realised),
        _trades_section(opened, closed),
        _risk_section([t for t in trades if _held_at_close(t, day)], account),
        _breakers_section(journal, day),
        _rejections_section(journal, day),
        _rules_section(journal, day),
    ]
    return report


def _account(journal: Journal, day: date) -> tuple[dict, float | None]:
    """The day's last snapshot, and its net liq against the previous day's last."""
    last, before = None, None
    for row in journal.snapshots():
        when = ny_date(row["at"])
        if when is None:
            continue
        if when < day:
            before = row
        elif when == day:
            last = row
    if last is None:
        return {}, None
    values = json.loads(last["detail"] or "{}")
    start = before["net_liq"] if before is not None else _first_net_liq(journal)
    pnl = None if start is None else round(last["net_liq"] - start, 2)
    return values, pnl


def _first_net_liq(journal: Journal) -> float | None:
    first = next(iter(journal.snapshots()), None)
    return None if first is None else first["net_liq"]


def _account_section(account: dict, pnl: float | None, realised: float) -> Section:
    if not account:
        return Section("Account", lines=["no snapshot this day: the engine did not tick"])
    return Section(
        "Account",
        ("net liq", "day P&L", "realised today", "cash", "buying power", "drawdown"),
        [
            (
                money(account.get("net_liq"), False),
                money(pnl),
                money(realised),
                money(account.get("cash"), False),
                money(account.get("buying_power"), False),
                f"{100 * account.get('drawdown', 0.0):.2f}%",
            )
        ],
    )


def _trades_section(opened: list[Trade], closed: list[Trade]) -> Section:
    rows = [_trade_row(t, "opened") for t in opened] + [_trade_row(t, "closed") for t in closed]
    headers = ("", "position", "strategy", "legs / why", "qty", "fill", "vs mid ($)", "realised")
    return Section("Trades", headers, rows, empty="no trades")


def _trade_row(t: Trade, what: str) -> tuple[str, ...]:
    p = t.position
    entry = what == "opened"
    fill = p.detail.get("entry_fill" if entry else "exit_fill")
    return (
        what,
        p.id,
        p.strategy,
        t.legs() if entry else p.exit_reason or "",
        str(p.quantity),
        "-" if fill is None else f"{fill:+.2f}",
        money(t.entry_slippage() if entry else t.exit_slippage()),
        "" if entry else money(t.realised),
    )


def _held_at_close(trade: Trade, day: date) -> bool:
    opened, closed = trade.opened, trade.closed
    return opened is not None and opened <= day and (closed is None or closed > day)


def _risk_section(trades: list[Trade], account: dict) -> Section:
    """Positions held at the day's close (their P&L: the latest mark)."""
    held = [t.position for t in trades]
    if not held:
        return Section("Open risk", lines=["no open positions"])
    max_loss = sum(float(p.max_loss or 0.0) * p.quantity for p in held)
    delta, vega = account.get("portfolio_delta", 0.0), account.get("portfolio_vega", 0.0)
    lines = [
        f"{len(held)} open positions; max loss {money(max_loss, False)}; heat "
        f"{100 * account.get('heat', 0.0):.1f}% of net liq; delta {delta:+.1f}; vega {vega:+.2f}"
    ]
    rows = [
        (
            p.id,
            p.strategy,
            Trade(p).legs(),
            str(p.quantity),
            money(p.detail.get("pnl")),
            "model" if p.detail.get("marked_by_model") else "quotes",
        )
        for p in held
    ]
    return Section(
        "Open risk", ("position", "strategy", "legs", "qty", "P&L", "marked by"), rows, lines
    )


def _breakers_section(journal: Journal, day: date) -> Section:
    rows = [
        (lock.started_at.isoformat()[11:16], f"{lock.scope}.{lock.name}", lock.action, lock.reason)
        for lock in journal.locks()
        if ny_date(lock.started_at) == day
    ]
    alerts = [a for a in journal.alerts(500) if ny_date(a["at"]) == day]
    lines = [f"{len(alerts)} alerts"] if alerts else []
    return Section("Breakers", ("at", "breaker", "action", "reason"), rows, lines, "none tripped")


def _rejections_section(journal: Journal, day: date, top: int = 5) -> Section:
    counts = rejected_candidates(journal, lambda at: ny_date(at) == day)
    rows = [(s, r, str(n)) for (s, r), n in counts.most_common(top)]
    return Section("Top rejection reasons", ("strategy", "reason", "candidates"), rows)


def _rules_section(journal: Journal, day: date) -> Section:
    rows = journal.db.execute(
        "SELECT file, id, status, loaded_at FROM rule_versions ORDER BY loaded_at"
    ).fetchall()
    changed = [r for r in rows if ny_date(r["loaded_at"]) == day]
    table = [
        (r["loaded_at"][11:16], r["file"].rsplit("/", 1)[-1], r["status"], r["id"][:24])
        for r in changed
    ]
    return Section("Rule changes", ("at", "file", "status", "version"), table, empty="no changes")
