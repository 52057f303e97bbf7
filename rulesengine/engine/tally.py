"""How often each clause held and failed: the engine counts, scenario coverage reads."""

from __future__ import annotations


class ClauseTally(dict[tuple[str, str], list[int]]):
    """(rule file, clause) -> [rows it held for, rows it failed for]."""

    def add(self, file: str, clause: str, held: int, failed: int) -> None:
        counts = self.setdefault((file, clause), [0, 0])
        counts[0] += held
        counts[1] += failed

    def merge(self, other: ClauseTally) -> None:
        for (file, clause), (held, failed) in other.items():
            self.add(file, clause, held, failed)
