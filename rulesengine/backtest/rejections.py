"""Why so few trades: the reasons candidates and scans came to nothing, counted.

Every scan and every candidate the engine tried is a decision in the journal with its
reason. Reasons that differ only in their numbers (a price, a percentage after the trade)
are one reason here, so the table says *what* stopped trades, most frequent first: a
strangle's preview rejections, a calendar's sizing, a filter no contract passes, a breaker.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from rulesengine.engine.journal import Journal

_DETAIL = re.compile(r"\s*\([^()]*\)$")  # a trailing `(values...)`
_ID = re.compile(r"\b[pc]-[0-9a-f]{8,10}\b")  # position and candidate ids
_NUMBER = re.compile(r"\d[\d,]*\.\d+|\d{3,}[\d,]*")  # prices, amounts, ages: not small counts


@dataclass(frozen=True)
class Rejection:
    strategy: str
    reason: str
    count: int


def rejected_candidates(
    journal: Journal, keep: Callable[[str], bool] = lambda at: True
) -> Counter[tuple[str, str]]:
    """(strategy, reason kind) -> candidates rejected, of the decisions whose time `keep`s."""
    counts: Counter[tuple[str, str]] = Counter()
    for row in journal.decisions_of("candidate", "rejected"):
        if keep(row["at"]):
            counts[(row["strategy"], reason_kind(row["reason"]))] += 1
    return counts


def rejections(journal: Journal, top: int = 8) -> list[Rejection]:
    counts = rejected_candidates(journal)
    for row in journal.decisions_of("scan"):
        why = _empty_scan(row)
        if why is not None:
            counts[(row["strategy"], why)] += 1
    return [Rejection(s, r, n) for (s, r), n in counts.most_common(top)]


def reason_kind(reason: str) -> str:
    """`limit (risk): max_heat 25% exceeded (31.2% heat after this trade)` ->
    `limit (risk): max_heat 25% exceeded`: the reason without the numbers of one case."""
    previous = None
    while previous != reason:
        previous, reason = reason, _DETAIL.sub("", reason)
    return _NUMBER.sub("N", _ID.sub("an open position", reason))


def _empty_scan(row) -> str | None:
    if row["outcome"] == "blocked":
        return f"scan blocked: {reason_kind(row['reason'])}"
    if row["outcome"] != "0 candidates":
        return None
    if row["reason"] != "scanned":
        return f"scan: {reason_kind(row['reason'])}"
    funnel = json.loads(row["detail"] or "{}").get("funnel", [])
    emptied = next((step for step in funnel if step["in"] > 0 and step["out"] == 0), None)
    if emptied is None:
        return "scan: no contracts in the data"
    return f"scan: no candidate passed {emptied['stage']} `{emptied['clause']}`"
