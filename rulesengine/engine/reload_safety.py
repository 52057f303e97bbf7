"""What a rule change may not do to a running engine without the trader's explicit say-so.

A reload is refused (the running rules stay active) when it would
- leave a strategy that had exit rules with none, open positions included (a file saved
  half-way, cut off before its `exit:` section, is the usual cause), or
- drop a limit or a breaker a strategy or portfolio file had (including removing a portfolio
  file), since a limit that silently disappears is a limit that does not hold.

A trader who means it creates the marker file `.force-reload` beside the rules; the next check
applies the change and deletes the marker.
"""

from __future__ import annotations

from collections.abc import Iterable

from rulesengine.engine.ruleset import RuleSet

FORCE_MARKER = ".force-reload"


def unsafe_changes(old: RuleSet, new: RuleSet, held: Iterable[str]) -> list[str]:
    """Why `new` may not replace `old` while positions of the strategies in `held` are open."""
    problems = []
    counts: dict[str, int] = {}
    for strategy in held:
        counts[strategy] = counts.get(strategy, 0) + 1
    for name, before in sorted(old.strategies.items()):
        after = new.strategies.get(name)
        if after is None:
            continue  # removed strategies' positions keep the rules they were opened with
        if before.program.exits and not after.program.exits:
            n = counts.get(name, 0)
            held_text = f"its {n} open position(s)" if n else "its next positions"
            problems.append(f"{name}: {held_text} would have no exit rules")
    for kind, old_programs, new_programs in (
        ("strategy", _by_name(old.strategies.values()), _by_name(new.strategies.values())),
        ("portfolio", _by_name(old.portfolios), _by_name(new.portfolios)),
    ):
        for name, before in sorted(old_programs.items()):
            after = new_programs.get(name)
            if after is None and kind == "strategy":
                continue
            for section in ("limits", "breakers"):
                had = set(getattr(before, section))
                has = set(getattr(after, section)) if after is not None else set()
                lost = sorted(had - has)
                if lost:
                    where = f"{kind} {name}" + (" (file removed)" if after is None else "")
                    problems.append(f"{where}: {section} {', '.join(lost)} would be dropped")
    return problems


def _by_name(compiled: Iterable) -> dict:
    return {c.program.name: c.program for c in compiled}
