"""Limit prices of the `order:` section: `mid`, `natural`, `95% of bid`, `mid - 25% of spread`,
`25% toward natural`, and (for a walk's stop) `$0.10 from mid`.

A price is read in the order's own terms, as a positive number: what an order that sells
receives, or what an order that buys pays. `bid` and `ask` are the structure's (for one leg,
its quote): selling fills at once at the bid, buying at the ask, so `natural` is the bid for
a sell and the ask for a buy, and `spread` is ask - bid. `N% toward natural` moves from the
mid to natural by that share of the way (0% the mid, 100% natural) whichever the side, which
suits a portfolio file's defaults; `$X from mid` is the mid moved X toward natural.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = r"(\d+(?:\.\d+)?)"
_BASE = re.compile(rf"^(?:(mid|natural|bid|ask)|{_NUMBER}\s*%\s*of\s+(bid|ask|mid))$")
_SPREAD = re.compile(rf"^(.+?)\s*([+-])\s*{_NUMBER}\s*%\s*of\s+spread$")
_TOWARD = re.compile(rf"^{_NUMBER}\s*%\s*toward\s+natural$")
_FROM_MID = re.compile(rf"^\$\s*{_NUMBER}\s*from\s+mid$")

EXAMPLES = "`mid`, `natural`, `95% of bid`, `mid - 25% of spread` or `25% toward natural`"


class PriceError(ValueError):
    """Text that is not a limit price expression; the message says what is."""


@dataclass(frozen=True)
class Quote:
    """A structure's market in the order's own terms: bid <= ask, both per unit."""

    bid: float
    ask: float
    sells: bool  # the order receives money (natural is the bid)

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2

    @property
    def natural(self) -> float:
        return self.bid if self.sells else self.ask

    @property
    def spread(self) -> float:
        return self.ask - self.bid


@dataclass(frozen=True)
class LimitPrice:
    """A parsed price: `scale` x `base` (+ `spread_share` x spread), or a share of the way
    from the mid toward natural, or an amount from the mid toward natural."""

    text: str
    base: str = "mid"  # mid | natural | bid | ask
    scale: float = 1.0
    spread_share: float = 0.0
    toward: float | None = None  # 0..1 of the way to natural
    from_mid: float | None = None  # $ toward natural

    def price(self, quote: Quote) -> float:
        direction = -1.0 if quote.sells else 1.0  # toward natural, in price terms
        if self.toward is not None:
            return quote.mid + self.toward * (quote.natural - quote.mid)
        if self.from_mid is not None:
            return quote.mid + direction * self.from_mid
        base = {"mid": quote.mid, "natural": quote.natural, "bid": quote.bid, "ask": quote.ask}
        return self.scale * base[self.base] + self.spread_share * quote.spread

    def __str__(self) -> str:
        return self.text


MID = LimitPrice("mid")


def parse_price(text: str, *, allow_from_mid: bool = False) -> LimitPrice:
    """The price `text` says; PriceError with the accepted forms when it says none."""
    raw = " ".join(str(text).split()).lower()
    if found := _TOWARD.match(raw):
        share = float(found.group(1)) / 100
        if share > 1:
            raise PriceError(f"'{text}': past natural; 100% toward natural is natural itself")
        return LimitPrice(raw, toward=share)
    if allow_from_mid and (found := _FROM_MID.match(raw)):
        return LimitPrice(raw, from_mid=float(found.group(1)))
    spread_share = 0.0
    if found := _SPREAD.match(raw):
        raw_base, sign, amount = found.groups()
        spread_share = float(amount) / 100 * (1 if sign == "+" else -1)
    else:
        raw_base = raw
    base = _BASE.match(raw_base.strip())
    if base is None:
        more = " or `$0.10 from mid`" if allow_from_mid else ""
        raise PriceError(f"'{text}' is not a limit price: use {EXAMPLES}{more}")
    if base.group(1):
        return LimitPrice(raw, base.group(1), 1.0, spread_share)
    scale = float(base.group(2)) / 100
    if scale <= 0:
        raise PriceError(f"'{text}': a price is a positive share of the quote")
    return LimitPrice(raw, base.group(3), scale, spread_share)
