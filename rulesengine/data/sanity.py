"""Quote sanity: which quotes may become entries, marks or fills, and why the others may not.

A single bad print (a $1,000,000 ask, a strike of 1e308, a put quoted above its strike) used
to be traded, marked and booked as P&L. Every snapshot is screened before anything reads it:

- no two-sided quote: a bid or ask missing, negative or beyond any listed price, no ask, or
  a crossed market (bid above ask);
- an underlying price on the row that is zero, negative or absurd (a missing one is unknown);
- a strike that is not a positive price within a sane range of the underlying;
- no-arbitrage bounds: a call is never worth more than the underlying, a put never more than
  its strike (checked on the ask, with a small tolerance for a stale underlying print);
- a jump against the contract's own recent history: the mid moved further than the
  underlying's move plus its previous value (a doubling). A one-off jump is rejected; a level
  that the next snapshot confirms is accepted (a real repricing persists, a bad print does
  not).

A rejected quote is as good as no quote: entries skip it (the funnel counts it by reason),
held contracts are marked from the model (the mark says so, and why), and the paper account
never fills against it.
"""

from __future__ import annotations

import numpy as np

MAX_PRICE = 10_000_000.0  # dollars per share: beyond anything listed, a corrupt number
STRIKE_RANGE = 20.0  # a strike above 20x the underlying is corrupt
BOUND_TOLERANCE = 0.02  # 2%: the underlying print may be a little stale against the quote
BOUND_SLACK = 0.10  # dollars, on top of the tolerance
JUMP_MULTIPLE = 1.0  # a mid may move by the underlying's move plus its previous value
JUMP_FLOOR = 0.50  # ... and by at least $0.50 for cheap contracts

OK = 0
NO_QUOTE = 1
BAD_STRIKE = 2
CALL_ABOVE_UNDERLYING = 3
PUT_ABOVE_STRIKE = 4
JUMP = 5
BAD_UNDERLYING = 6

REASONS = {
    NO_QUOTE: "no usable two-sided quote (missing, negative, absurd, zero ask or crossed)",
    BAD_STRIKE: "strike not a sane price near the underlying",
    CALL_ABOVE_UNDERLYING: "call quoted above the underlying price (no-arbitrage bound)",
    PUT_ABOVE_STRIKE: "put quoted above its strike (no-arbitrage bound)",
    JUMP: "mid jumped against the contract's previous quote (unconfirmed)",
    BAD_UNDERLYING: "underlying price on the row is not a price (zero, negative or absurd)",
}
STEPS = (  # the funnel's data steps, in the order they are applied
    (NO_QUOTE, "quote: two-sided, finite, not crossed"),
    (BAD_UNDERLYING, "quote: underlying price sane"),
    (BAD_STRIKE, "quote: strike sane against the underlying"),
    (CALL_ABOVE_UNDERLYING, "quote: call not above the underlying"),
    (PUT_ABOVE_STRIKE, "quote: put not above its strike"),
    (JUMP, "quote: no unconfirmed jump against its previous quote"),
)


def bound_problems(
    bid: np.ndarray,
    ask: np.ndarray,
    strike: np.ndarray,
    underlying: np.ndarray,
    is_call: np.ndarray,
    is_option: np.ndarray | None = None,
) -> np.ndarray:
    """Problem code per row from the row alone (int8, OK = 0); the first failing check wins.
    Rows that are not options (`is_option` False: a futures contract) have no strike and no
    option bounds: only their quote and underlying are checked."""
    out = np.zeros(len(bid), dtype=np.int8)
    with np.errstate(invalid="ignore", over="ignore"):
        quoted = (
            np.isfinite(bid)
            & np.isfinite(ask)
            & (bid >= 0)
            & (ask > 0)
            & (ask >= bid)
            & (ask <= MAX_PRICE)
        )
        known_spot = np.isfinite(underlying) & (underlying > 0) & (underlying <= MAX_PRICE)
        absurd_spot = ~np.isnan(underlying) & ~known_spot  # missing is unknown, not corrupt
        strike_ok = (
            np.isfinite(strike)
            & (strike > 0)
            & (strike <= MAX_PRICE)
            & (~known_spot | (strike <= STRIKE_RANGE * underlying))
        )
        call_bound = underlying * (1 + BOUND_TOLERANCE) + BOUND_SLACK
        put_bound = strike * (1 + BOUND_TOLERANCE) + BOUND_SLACK
        call_over = is_call & known_spot & (ask > call_bound)
        put_over = ~is_call & (ask > put_bound)
    option = np.ones(len(bid), bool) if is_option is None else is_option
    out[put_over & option] = PUT_ABOVE_STRIKE
    out[call_over & option] = CALL_ABOVE_UNDERLYING
    out[~strike_ok & option] = BAD_STRIKE
    out[absurd_spot] = BAD_UNDERLYING
    out[~quoted] = NO_QUOTE
    return out


def jumped(
    mid: np.ndarray, spot: np.ndarray, previous_mid: np.ndarray, previous_spot: np.ndarray
) -> np.ndarray:
    """True where the mid moved further than the underlying's move allows (NaN history: no)."""
    with np.errstate(invalid="ignore", over="ignore"):
        move = np.abs(spot - previous_spot)
        move = np.where(np.isfinite(move) & (move <= MAX_PRICE), move, 0.0)
        allowed = move + JUMP_MULTIPLE * np.maximum(previous_mid, JUMP_FLOOR)
        return np.isfinite(previous_mid) & (np.abs(mid - previous_mid) > allowed)


class QuoteHistory:
    """Each contract's last accepted and last seen (mid, underlying), for the jump check.

    Kept by whoever feeds snapshots in order (the engine): it screens each snapshot once.
    Symbols are kept sorted with their values in arrays, so a snapshot of thousands of
    contracts is looked up and updated without a Python loop (intraday replays screen one
    every few minutes).
    """

    def __init__(self) -> None:
        self._names = np.zeros(0, dtype="U1")
        self._accepted = np.zeros((2, 0))
        self._seen = np.zeros((2, 0))
        # the last symbols array looked up and its positions: an intraday market lists the
        # same contracts all day, in one array
        self._last: tuple[np.ndarray, np.ndarray] | None = None

    def _positions(self, symbols: np.ndarray) -> np.ndarray:
        """Each symbol's column in the history, adding the ones never seen."""
        if self._last is not None and self._last[0] is symbols:
            return self._last[1]
        pos = self._lookup(symbols)
        self._last = (symbols, pos)
        return pos

    def _lookup(self, symbols: np.ndarray) -> np.ndarray:
        names = symbols.astype(str)
        pos = np.searchsorted(self._names, names)
        known = pos < len(self._names)
        known[known] = self._names[pos[known]] == names[known]
        if not known.all():
            merged = np.union1d(self._names, names[~known])
            old = np.searchsorted(merged, self._names)
            for attr in ("_accepted", "_seen"):
                grown = np.full((2, len(merged)), np.nan)
                grown[:, old] = getattr(self, attr)
                setattr(self, attr, grown)
            self._names = merged
            pos = np.searchsorted(self._names, names)
        return pos

    def screen(self, symbols: np.ndarray, mid: np.ndarray, spot: np.ndarray, problems: np.ndarray):
        """Add JUMP to `problems` (in place) and remember this snapshot's quotes."""
        pos = self._positions(symbols)
        accepted = self._accepted[:, pos]
        seen = np.where(np.isfinite(accepted[0]), self._seen[:, pos], np.nan)
        sound = problems == OK
        jump = sound & jumped(mid, spot, accepted[0], accepted[1])
        # the previous snapshot (rejected) already showed this level: a repricing, not a print
        confirmed = jump & np.isfinite(seen[0]) & ~jumped(mid, spot, seen[0], seen[1])
        problems[jump & ~confirmed] = JUMP
        values = np.vstack([np.asarray(mid, dtype=float), np.asarray(spot, dtype=float)])
        self._seen[:, pos[sound]] = values[:, sound]
        keep = problems == OK
        self._accepted[:, pos[keep]] = values[:, keep]
        return problems


def reason(code: int) -> str:
    return REASONS.get(int(code), "ok")
