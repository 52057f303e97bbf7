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
