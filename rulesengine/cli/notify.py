"""`rules notify`: the outbox of a data directory, a test message per channel, and sending
what is queued (after a crash, or rows that failed) without running the engine."""

from __future__ import annotations

import sqlite3
import sys
from contextlib import closing
from pathlib import Path

from rulesengine.engine.journal import Journal
from rulesengine.engine.ruleset import RulesError, load_rules
from rulesengine.engine.session import JOURNAL_FILE
from rulesengine.notify.channels import ChannelError, Resolved, deliver, resolve
from rulesengine.notify.notices import channels_of
from rulesengine.notify.outbox import Outbox
from rulesengine.notify.service import Notifier


def run(args) -> int:
    try:
        rules = load_rules(args.paths)
    except RulesError as error:
        print(f"rules notify: {error}; `rules lint` says where", file=sys.stderr)
        return 1
    programs = [c.program for c in rules.portfolios]
    if not channels_of(programs):
        print("rules notify: the rules have no channels; add `notify:` to a portfolio file")
        return 2
    try:
        if args.test:
            return _test(resolve(channels_of(programs)))
        path = Path(args.data_dir) / JOURNAL_FILE
        if not path.exists():
            print(
                f"rules notify: no journal in {args.data_dir} (`rules run` makes one)",
                file=sys.stderr,
            )
            return 2
        Journal(path).close()  # a journal of any age gets the outbox table
        notifier = Notifier(path, programs)
    except ChannelError as error:
        print(f"rules notify: {error}", file=sys.stderr)
        return 2
    with closing(sqlite3.connect(path)) as db, db:
        outbox = Outbox(db)
        if args.retry_failed:
            print(f"{outbox.retry_failed()} failed notifications queued again")
        if args.send or args.retry_failed:
            outbox.now()
    if args.send or args.retry_failed:
        notifier.start()
        notifier.dispatcher.drain(args.timeout)
        print(notifier.stop())
    return _show(path)


def _test(channels: list[Resolved]) -> int:
    failed = 0
    for channel in channels:
        error = deliver(
            channel, "test", "rules notify --test", "a test message from rulesengine", "info"
        )
        print(f"{channel.name}: {'sent' if error is None else 'FAILED: ' + error}")
        failed += error is not None
    return 1 if failed else 0


def _show(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        outbox = Outbox(db)
        counts, recent = outbox.counts(), outbox.recent(10)
    if not counts:
        print("outbox: empty")
        return 0
    for channel, statuses in counts.items():
        print(f"{channel}: {', '.join(f'{n} {status}' for status, n in statuses.items())}")
    for row in recent:
        note = f" ({row['attempts']} attempts: {row['error']})" if row["error"] else ""
        what = f"{row['channel']} {row['event']} {row['status']}{note}"
        print(f"  {row['at'][:19]} {what}: {row['title']}")
    return 0
