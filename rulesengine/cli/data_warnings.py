"""What a chain loader skipped or resolved, printed once on stderr before a command runs."""

from __future__ import annotations

import sys

from rulesengine.data.chain import Chain

SHOWN = 5


def show(command: str, chain: Chain) -> None:
    warnings = chain.warnings
    for line in warnings[:SHOWN]:
        print(f"{command}: warning: {line}", file=sys.stderr)
    if len(warnings) > SHOWN:
        print(f"{command}: warning: ... and {len(warnings) - SHOWN} more", file=sys.stderr)


class MissingData:
    """What the rules could not read during a run (an indicator without enough bars, a field
    the data lacks), printed on stderr the first time each strategy meets it, so clauses never
    match nothing in silence. Indicators warming up at the start of a replay say so too."""

    def __init__(self, command: str):
        self.command = command
        self.seen: set[tuple[str, str]] = set()

    def note(self, report) -> None:
        for strategy, messages in report.missing.items():
            for message in messages:
                key = (strategy, _shape(message))
                if key in self.seen:
                    continue
                self.seen.add(key)
                print(
                    f"{self.command}: {strategy}: {message}; clauses reading it match nothing "
                    f"(at {report.at:%Y-%m-%d %H:%M})",
                    file=sys.stderr,
                )


def _shape(message: str) -> str:
    """A message without its counts: `has 3` and `has 4` bars are one problem."""
    return message.rsplit(", has ", 1)[0]
