"""`rules status`, `rules positions`, `rules why`, `rules unlock`, `rules kill`: the journal,
read (and for locks, written) from the command line, while the engine runs or after."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rulesengine.engine.breakers import kill_lock
from rulesengine.engine.journal import Journal
from rulesengine.engine.session import DEFAULT_DATA_DIR, JOURNAL_FILE, summary


def run(args) -> int:
    path = Path(args.data_dir) / JOURNAL_FILE
    if args.command == "kill":
        return kill(args, path)
    if not path.exists():
        print(
            f"rules {args.command}: no journal at {path}; {_where_journals_are()}", file=sys.stderr
        )
        return 2
    journal = Journal(path)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 132)
    try:
        return {"status": status, "positions": positions, "why": why, "unlock": unlock}[
            args.command
        ](args, journal, console)
    finally:
        journal.close()


def _where_journals_are() -> str:
    found = sorted(p.parent for p in Path(DEFAULT_DATA_DIR).glob(f"*/{JOURNAL_FILE}"))
    if not found:
        return "start the engine with `rules run`, or pass --data-dir"
    listed = ", ".join(f"--data-dir {d}" for d in found)
    return f"journals here: {listed} (`make run` writes {DEFAULT_DATA_DIR}/demo)"


def status(args, journal: Journal, console: Console) -> int:
    s = summary(journal)
    last = journal.get("last_tick") or "never"
    console.print(f"last tick: {last}", markup=False)
    console.print(
        f"net liq {s['net_liq_end'] or 0:,.2f}; realised P&L {s['realised_pnl']:+,.2f}; "
        f"{s['open']} open positions; {s['entries']} entries, {s['closed']} closed",
        markup=False,
    )
    now = datetime.now(UTC)
    active = [lock for lock in journal.locks() if lock.active(now)]
    if active:
        for lock in active:
            until = lock.until.isoformat() if lock.until else "lifted by hand"
            console.print(
                f"LOCK {lock.scope}.{lock.name} -> {lock.action} until {until}: {lock.reason}",
                markup=False,
            )
    else:
        console.print("locks: none active", markup=False)
    for row in journal.alerts(5):
        console.print(f"alert {row['at']} [{row['level']}] {row['message']}", markup=False)
    return positions(args, journal, console)


def positions(args, journal: Journal, console: Console) -> int:
    shown = [p for p in journal.positions() if args.all or p.is_open]
    table = Table(title=f"{len(shown)} positions", title_justify="left")
    columns = (
        "id",
        "strategy",
        "status",
        "qty",
        "legs",
        "entry",
        "P&L",
        "mark",
        "lineage",
        "reason",
    )
    for column in columns:
        table.add_column(column)
    for p in shown:
        legs = " ".join(f"{leg.ratio:+d} {''.join(leg.symbol.split())}" for leg in p.legs)
        pnl = p.realised_pnl if p.realised_pnl is not None else p.detail.get("pnl")
        lineage = f"roll {p.roll_number} of {p.root_id}" if p.roll_number else ""
        table.add_row(
            p.id,
            p.strategy,
            p.status,
            str(p.quantity),
            legs,
            f"{p.entry_price:+.2f}",
            "" if pnl is None else f"{pnl:+,.2f}",
            ("model" if p.marked_by_model else "quote") if p.is_open else "",
            lineage,
            p.exit_reason or p.detail.get("flagged", ""),
        )
    console.print(table)
    return 0


def why(args, journal: Journal, console: Console) -> int:
    rows = journal.decisions(args.subject)
    position = journal.position(args.subject)
    if position is not None:
        for key in filter(None, (position.entry_key, position.exit_key)):
            order = journal.order(key)
            if order is not None:
                console.print(
                    f"order {key}: {order.purpose} {order.status} {order.filled}/"
                    f"{order.quantity} at {order.average_price or order.limit_price} "
                    f"{order.effect} {order.reason or ''}",
                    markup=False,
                )
        if position.parent_id:
            console.print(f"rolled from {position.parent_id} (roll {position.roll_number})")
    if not rows and position is None:
        print(f"rules why: nothing in the journal about {args.subject!r}", file=sys.stderr)
        return 1
    for row in rows:
        console.print(
            f"{row['at']}  {row['strategy']}  {row['kind']}: {row['outcome']} — {row['reason']}",
            markup=False,
        )
        detail = json.loads(row["detail"] or "{}")
        for step in detail.get("funnel", []):
            console.print(
                f"    {step['in']:>6} -> {step['out']:>6}  {step['stage']:<12} {step['clause']}",
                markup=False,
            )
        if "size" in detail:
            console.print(f"    size: {detail['size']}", markup=False)
    return 0


def unlock(args, journal: Journal, console: Console) -> int:
    lifted = journal.lift(args.name, datetime.now(UTC), "rules unlock")
    if args.name in {"kill_switch", "all"}:
        (Path(args.data_dir) / "KILL").unlink(missing_ok=True)
    if not lifted:
        names = sorted({lock.name for lock in journal.locks() if lock.lifted_at is None})
        print(
            f"rules unlock: no lock named {args.name!r} is held"
            + (f" (held: {', '.join(names)})" if names else ""),
            file=sys.stderr,
        )
        return 1
    for lock in lifted:
        console.print(f"unlocked {lock.scope}.{lock.name} ({lock.action}: {lock.reason})")
    return 0


def kill(args, path: Path) -> int:
    """Trip the kill switch: a lock in the journal plus the KILL file a running engine sees."""
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "KILL").write_text(args.reason + "\n")
    journal = Journal(path)
    try:
        action = "close_all" if args.close_all else "halt"
        journal.save_lock(kill_lock(datetime.now(UTC), args.reason, action))
        journal.commit()
    finally:
        journal.close()
    print(f"kill switch on ({action}); lift it with `rules unlock kill_switch`")
    return 0
