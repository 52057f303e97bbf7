"""Option symbols in the three spellings the brokers use, all mapped to padded OCC.

- padded OCC (tastytrade, Schwab, the bundled data): root padded to 6, `SPY   240419P00500000`
- unpadded OCC (Alpaca): `SPY240419P00500000`
- DX streamer symbols (tastytrade quotes): `.SPY240419P500`, `.SPXW240312P5102.5`
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from brokers.model import OptionContract

_UNPADDED = re.compile(r"^([A-Z0-9.]{1,6})(\d{6})([CP])(\d{8})$")
_STREAMER = re.compile(r"^\.([A-Z0-9]{1,6})(\d{6})([CP])(\d+(?:\.\d+)?)$")


class SymbolError(ValueError):
    """A string that is not an option symbol in the expected spelling."""


def format_occ(contract: OptionContract) -> str:
    """The padded 21-character OCC symbol."""
    strike = int((contract.strike * 1000).to_integral_value())
    return f"{contract.root:<6}{contract.expiry:%y%m%d}{contract.right}{strike:08d}"


def parse_occ(symbol: str) -> OptionContract:
    """Parse padded or unpadded OCC."""
    match = _UNPADDED.match(symbol.replace(" ", ""))
    if not match:
        raise SymbolError(f"{symbol!r} is not an OCC option symbol (ROOT YYMMDD C|P STRIKE*1000)")
    root, ymd, right, strike = match.groups()
    expiry = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
    return OptionContract(root, expiry, right, Decimal(strike) / 1000)


_ALREADY_PADDED = re.compile(r"[A-Z0-9]{1,6} *(?<=^.{6})\d{6}[CP]\d{8}$")


def is_option_symbol(symbol: str) -> bool:
    return bool(_UNPADDED.match(symbol.replace(" ", "")))


def padded(symbol: str) -> str:
    """Any OCC spelling -> padded OCC; a stock ticker is returned unchanged."""
    if _ALREADY_PADDED.match(symbol):  # the common case, on every row of every snapshot
        return symbol
    if not is_option_symbol(symbol):
        return symbol
    return format_occ(parse_occ(symbol))


def unpadded(symbol: str) -> str:
    """Padded OCC -> Alpaca's unpadded form; a stock ticker is returned unchanged."""
    return symbol.replace(" ", "")


def streamer_symbol(symbol: str) -> str:
    """Padded OCC -> DX streamer symbol (`.SPXW240312P5100`, `.SPY240419P502.5`)."""
    c = parse_occ(symbol)
    strike = format(c.strike.normalize(), "f")
    return f".{c.root}{c.expiry:%y%m%d}{c.right}{strike}"


def from_streamer(symbol: str) -> str:
    """DX streamer symbol -> padded OCC."""
    match = _STREAMER.match(symbol)
    if not match:
        raise SymbolError(f"{symbol!r} is not a DX option streamer symbol")
    root, ymd, right, strike = match.groups()
    expiry = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
    return format_occ(OptionContract(root, expiry, right, Decimal(strike)))


# Index underlyings cash-settle; Schwab spells them with a `$` and their roots differ
# from the underlying (SPXW options on SPX).
INDEX_UNDERLYINGS = {"SPX", "NDX", "RUT", "VIX", "XSP", "DJX"}
INDEX_ROOTS = {
    "SPX": "SPX",
    "SPXW": "SPX",
    "NDX": "NDX",
    "NDXP": "NDX",
    "RUT": "RUT",
    "RUTW": "RUT",
    "VIX": "VIX",
    "VIXW": "VIX",
    "XSP": "XSP",
    "DJX": "DJX",
}


def underlying_of(symbol: str) -> str:
    """The underlying of an option symbol (SPXW -> SPX) or the ticker itself."""
    if not is_option_symbol(symbol):
        return symbol.lstrip("$")
    root = parse_occ(symbol).root
    return INDEX_ROOTS.get(root, root)


def is_index(underlying: str) -> bool:
    return underlying.lstrip("$") in INDEX_UNDERLYINGS
