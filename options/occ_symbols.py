"""OCC option symbols: root, expiry (yymmdd), C/P and the strike in thousandths, 8 digits.

`AAPL240119C00190000` is the AAPL call expiring 2024-01-19 with strike 190.000. The OCC's own
21-character form pads the root with spaces to 6 characters (`AAPL  240119C00190000`); Alpaca
and most data vendors drop the padding. Both parse; `format_occ_symbol` writes the compact form.
Roots are 1-6 letters or digits (adjusted contracts add a digit: `AAPL1`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

from options.contracts import OptionKind

_OCC = re.compile(r"(?P<root>[A-Z0-9]{1,6}) *(?P<expiry>\d{6})(?P<kind>[CP])(?P<strike>\d{8})")
_KIND_LETTER = {OptionKind.CALL: "C", OptionKind.PUT: "P"}
_STRIKE_SCALE = 1000  # the symbol carries the strike in thousandths of a dollar
_MAX_STRIKE_UNITS = 99_999_999


@dataclass(frozen=True, slots=True)
class OccSymbol:
    root: str
    expiry: date
    kind: OptionKind
    strike: float

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Z0-9]{1,6}", self.root):
            raise ValueError(f"OCC root must be 1-6 capital letters or digits, got {self.root!r}")
        if not isinstance(self.kind, OptionKind):
            raise ValueError(f"kind must be an OptionKind, got {self.kind!r}")
        _strike_units(self.strike)
        if not 2000 <= self.expiry.year <= 2099:
            raise ValueError(f"OCC expiries are two-digit years 2000-2099, got {self.expiry}")

    def __str__(self) -> str:
        return format_occ_symbol(self)


def _strike_units(strike: float) -> int:
    if not math.isfinite(strike) or strike <= 0:
        raise ValueError(f"strike must be a positive number, got {strike}")
    units = round(strike * _STRIKE_SCALE)
    if abs(units - strike * _STRIKE_SCALE) > 1e-6 * max(1.0, strike):
        raise ValueError(f"strike {strike} is finer than the OCC's 0.001")
    if units > _MAX_STRIKE_UNITS:
        raise ValueError(f"strike {strike} does not fit the OCC's 8 digits (at most 99999.999)")
    return units


def parse_occ_symbol(symbol: str) -> OccSymbol:
    """Parse `ROOTyymmddC00190000` (root optionally space-padded); ValueError names the problem."""
    match = _OCC.fullmatch(symbol)
    if match is None:
        raise ValueError(f"{symbol!r} is not an OCC option symbol: {_what_is_wrong(symbol)}")
    digits = match["expiry"]
    try:
        expiry = date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:]))
    except ValueError:
        raise ValueError(f"{symbol!r} is not an OCC option symbol: expiry {digits} is not a date") from None
    units = int(match["strike"])
    if units == 0:
        raise ValueError(f"{symbol!r} is not an OCC option symbol: strike is zero")
    kind = OptionKind.CALL if match["kind"] == "C" else OptionKind.PUT
    return OccSymbol(root=match["root"], expiry=expiry, kind=kind, strike=units / _STRIKE_SCALE)


def _what_is_wrong(symbol: str) -> str:
    """A sentence for the first thing that keeps `symbol` from being ROOT + yymmdd + C/P + 8 digits."""
    if len(symbol) < 16:
        return f"{len(symbol)} characters, too short for root + yymmdd + C/P + 8-digit strike"
    tail = symbol[-15:]
    root = symbol[:-15].rstrip(" ")
    if not re.fullmatch(r"[A-Z0-9]{1,6}", root):
        return f"root {root!r} must be 1-6 capital letters or digits"
    if not tail[:6].isdigit():
        return f"expiry {tail[:6]!r} must be 6 digits yymmdd"
    if tail[6] not in "CP":
        return f"type {tail[6]!r} must be C or P"
    return f"strike {tail[7:]!r} must be 8 digits (thousandths of a dollar)"


def format_occ_symbol(contract: OccSymbol) -> str:
    """The compact (unpadded) OCC symbol, e.g. `AAPL240119C00190000`."""
    return (
        f"{contract.root}{contract.expiry:%y%m%d}{_KIND_LETTER[contract.kind]}"
        f"{_strike_units(contract.strike):08d}"
    )
