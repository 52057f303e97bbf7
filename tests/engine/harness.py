"""An engine over the paper broker and the real SPX week, driven one snapshot at a time."""

from __future__ import annotations

import textwrap
from datetime import date, datetime, time
from pathlib import Path

from rulesengine.data.chain import Chain
from rulesengine.data.quotes import chain_entries, underlying_prices
from rulesengine.engine.replay import run_snapshot, stamp
from rulesengine.engine.ruleset import load_rules
from rulesengine.engine.session import open_paper_session

DAYS = [date(2011, 1, d) for d in (3, 4, 5, 6, 7)]


class Harness:
    def __init__(self, tmp_path: Path, spx: Chain, rules: dict[str, str], notify: bool = False):
        self.tmp = tmp_path
        self.notify = notify  # queue the rules' notifications in the outbox, as `rules run`
        self.spx = spx
        self.rules_dir = tmp_path / "rules"
        self.rules_dir.mkdir(parents=True, exist_ok=True)
        for name, text in rules.items():
            (self.rules_dir / name).write_text(textwrap.dedent(text))
        self.data_dir = tmp_path / "data"
        self.messages: list[str] = []
        self.open()

    def open(self) -> None:
        """(Re)start the engine on the same data directory, as after a restart."""
        rules = load_rules([self.rules_dir])
        self.session = open_paper_session(
            rules, self.data_dir, stamp(DAYS[0]), say=self.messages.append, notify=self.notify
        )
        self.engine = self.session.engine
        self.journal = self.session.journal
        self.broker = self.session.broker
        self.clock = self.session.clock

    def snapshot(self, day: int) -> Chain:
        return self.spx.on(DAYS[day])

    async def day(
        self, day: int, at: time = time(15, 45), chain: Chain | None = None, work: bool = True
    ):
        """Replay one day; `work=False` leaves orders resting (no walk toward natural)."""
        when = datetime.combine(DAYS[day], at, stamp(DAYS[0]).tzinfo)
        snapshot = chain if chain is not None else self.snapshot(day)
        if work:
            return await run_snapshot(self.engine, self.broker, self.clock, snapshot, when)
        self.clock.set(when)
        self.broker.book.update(chain_entries(snapshot), underlying_prices(snapshot), when)
        await self.broker.step()
        return await self.engine.tick(snapshot, when)

    def positions(self, status: str | None = None):
        found = self.journal.positions()
        return [p for p in found if status is None or p.status == status]

    def decisions(self, kind: str):
        return [
            r
            for r in self.journal.db.execute(
                "SELECT * FROM decisions WHERE kind=? ORDER BY at, id", (kind,)
            )
        ]


PUT_SPREAD = """
strategy: puts
universe: [SPX]
legs:
  short: put where dte between 30 and 60 and delta between -0.30 and -0.20 and bid > 0
         prefer delta nearest -0.25
  long: put where expiry == short.expiry and strike == short.strike - 25 and bid > 0
entry:
  - credit >= $0.50
size:
  contracts: 1
exit:
  stop_loss: pnl <= -10 * max_profit
"""
