"""Bar timeframes a rule may name: time bars of whole minutes up to a day (`1m 5m 1h 4h 1d`)
and tick bars of N trades (`512t`). One definition, read by the checker, the compiler and the
bar builders."""

from __future__ import annotations

from dataclasses import dataclass

DAY_SECONDS = 86_400
# The bars one evaluation keeps per symbol and timeframe; a lookback past it can never fill.
MAX_HISTORY_BARS = 20_000


@dataclass(frozen=True, order=True)
class Timeframe:
    seconds: int  # a time bar's length; 0 for tick bars
    ticks: int = 0  # trades per tick bar; 0 for time bars

    @property
    def text(self) -> str:
        if self.ticks:
            return f"{self.ticks}t"
        if self.seconds == DAY_SECONDS:
            return "1d"
        if self.seconds % 3600 == 0:
            return f"{self.seconds // 3600}h"
        return f"{self.seconds // 60}m"

    @property
    def daily(self) -> bool:
        return self.seconds == DAY_SECONDS

    @property
    def intraday(self) -> bool:
        return not self.daily

    def __str__(self) -> str:
        return self.text


DAILY = Timeframe(DAY_SECONDS)


class TimeframeError(ValueError):
    """Why a text is not a timeframe, with what to write instead."""


def timeframe_of(seconds: float, unit: str, text: str) -> Timeframe:
    """A timeframe from a DSL number: `5m` (a duration in seconds) or `512t` (ticks)."""
    if unit == "ticks":
        if seconds != int(seconds) or seconds < 1:
            raise TimeframeError(f"'{text}': tick bars need a whole number of trades, e.g. 512t")
        return Timeframe(0, int(seconds))
    if unit != "duration":
        raise TimeframeError(f"'{text}' is not a timeframe: write e.g. 5m, 1h, 1d or 512t")
    if seconds == DAY_SECONDS:
        return DAILY
    if seconds < 60 or seconds % 60:
        raise TimeframeError(
            f"'{text}': bars are built from minute bars, so a timeframe is whole minutes "
            "(1m, 2m, 5m, 15m, 30m, 1h, 4h) or 1d"
        )
    if seconds > DAY_SECONDS:
        raise TimeframeError(f"'{text}': the longest timeframe is 1d (one bar per session)")
    return Timeframe(int(seconds))


def parse_timeframe(text: str) -> Timeframe:
    """A timeframe from its text, e.g. in a rule file's `bars:` or on the command line."""
    body = text.strip().lower()
    units = {"m": 60, "h": 3600, "d": DAY_SECONDS, "t": 1}
    if len(body) < 2 or body[-1] not in units or not body[:-1].isdigit():
        raise TimeframeError(f"'{text}' is not a timeframe: write e.g. 5m, 1h, 1d or 512t")
    count = int(body[:-1])
    if body[-1] == "t":
        return timeframe_of(count, "ticks", text)
    return timeframe_of(count * units[body[-1]], "duration", text)
