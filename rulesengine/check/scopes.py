"""Which scopes each section of a rule file sees, and the types of account values."""

from __future__ import annotations

from rulesengine.check.names import Scope
from rulesengine.check.types import DURATION, MONEY, PERCENT

ALL_SCOPES = frozenset(Scope)
LEG_SCOPES = frozenset({Scope.CONTRACT, Scope.UNDERLYING, Scope.PORTFOLIO})
STRUCTURE_SCOPES = frozenset({Scope.STRUCTURE, Scope.UNDERLYING, Scope.PORTFOLIO})
EXIT_SCOPES = frozenset({Scope.POSITION, Scope.UNDERLYING, Scope.PORTFOLIO})
ACCOUNT_SCOPES = frozenset({Scope.PORTFOLIO})
ACCOUNT_VALUE_TYPES = {
    "risk": MONEY,
    "max_buying_power": PERCENT,
    "max_heat": PERCENT,
    "max_allocation": PERCENT,
    "kelly": PERCENT,
    "daily_target": MONEY,
    "reentry_cooldown": DURATION,
}
