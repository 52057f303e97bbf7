"""Reading wire values: numbers as strings or JSON numbers, sentinels, percent vs fraction.

Every adapter parses through these so the traps are handled once: "NaN"/"Infinity"
strings (DXLink), -999 greeks (Schwab), empty strings (Alpaca's mleg parent), percent IV.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from brokers.errors import MalformedResponse

_SENTINELS = {-999.0, -99999.0}
_MISSING_TEXT = {"", "nan", "-nan", "infinity", "-infinity", "inf", "-inf", "none", "null"}


def decimal_or_none(value: Any) -> Decimal | None:
    """A Decimal, or None for absent, NaN, infinite and sentinel values."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().lower() in _MISSING_TEXT:
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or float(number) in _SENTINELS:
        return None
    return number


def float_or_none(value: Any) -> float | None:
    number = decimal_or_none(value)
    return None if number is None else float(number)


def int_or_none(value: Any) -> int | None:
    number = decimal_or_none(value)
    return None if number is None else int(number)


def iv_from_percent(value: Any) -> float | None:
    """Schwab sends IV in percent (15.231 -> 0.15231); non-positive values mean unknown."""
    number = float_or_none(value)
    return None if number is None or number <= 0 else number / 100.0


def iv_fraction(value: Any) -> float | None:
    number = float_or_none(value)
    return None if number is None or number <= 0 else number


GREEKS = ("delta", "gamma", "theta", "vega", "rho")


class Greeks(TypedDict):
    delta: float | None
    gamma: float | None
    theta: float | None
    vega: float | None
    rho: float | None


def greeks(source: dict[str, Any]) -> Greeks:
    """The five greeks under their usual wire names, sentinels and NaN as None."""
    return Greeks(
        delta=float_or_none(source.get("delta")),
        gamma=float_or_none(source.get("gamma")),
        theta=float_or_none(source.get("theta")),
        vega=float_or_none(source.get("vega")),
        rho=float_or_none(source.get("rho")),
    )


def timestamp(value: Any) -> datetime | None:
    """ISO text or epoch milliseconds -> an aware datetime (UTC when no zone is given)."""
    if value in (None, "", 0):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000.0, tz=UTC)
    text = str(value).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def require(payload: Any, *path: str | int, broker: str) -> Any:
    """payload[path...] or a MalformedResponse naming the missing key."""
    node = payload
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            where = ".".join(str(p) for p in path)
            raise MalformedResponse(
                f"response has no `{where}` (the API shape may have changed; "
                "report it with the broker's response)",
                broker=broker,
            ) from None
    return node


def money(value: Decimal) -> str:
    """A price as the wire wants it: plain decimal text, no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text
