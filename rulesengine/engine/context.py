"""One tick's fixed facts: the time, the snapshot, what the account and each strategy read.

Built once per tick after the positions are marked, so every step of the tick (breakers,
exits, rolls, entries) reads the same numbers; only the position book changes as it goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from rulesengine.data.chain import Chain
from rulesengine.engine.marks import SymbolIndex
from rulesengine.engine.sessions import Sessions


@dataclass(frozen=True)
class TickContext:
    now: datetime
    as_of: datetime  # when the snapshot was taken
    market: Chain  # the real snapshot: entries, rolls and closes trade only on it
    index: SymbolIndex  # rows of the real snapshot
    account: Mapping[str, float]  # the account's scalars (portfolio files read these)
    scoped: Mapping[str, Mapping[str, float]]  # each strategy's scalars (see engine.account)
    sessions: Sessions

    def scalars(self, strategy: str | None) -> Mapping[str, float]:
        """What a rule file reads: its strategy's scalars, or the account's."""
        if strategy is None:
            return self.account
        return self.scoped.get(strategy, self.account)

    @property
    def data_age(self) -> float:
        return max(0.0, (self.now - self.as_of).total_seconds())
