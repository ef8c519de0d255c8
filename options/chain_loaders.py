"""Build an `OptionChain` from a CSV file or from Alpaca's option-chain snapshots (alpaca-py).

CSV columns (header row, any order, names as below):
- `symbol` (required): the contract; an OCC symbol unless the three columns below are given.
- `bid`, `ask` (required): prices; an empty cell is a missing price (NaN, which `check` reports).
- `quote_time` (required): ISO-8601 with a UTC offset or `Z`, e.g. `2024-06-03T15:29:58Z`;
  empty when the contract has no quote.
- `kind` (`call`/`put` or `C`/`P`), `strike`, `expiry` (`YYYY-MM-DD`): optional together; when
  absent they come from the OCC symbol.
- `last`, `volume`, `open_interest`, `iv` (optional, may be empty).
Errors name the file, the line (the header is line 1) and the column.

Alpaca: `OptionHistoricalDataClient.get_option_chain` calls `GET /v1beta1/options/snapshots/{underlying}`
and follows `next_page_token` itself. Each snapshot, keyed by OCC symbol, holds `latestQuote`
(`bp`/`ap`/`t`), `latestTrade` (`p`), `impliedVolatility` and `greeks`; with `raw_data=True` these
arrive as that JSON, otherwise as alpaca-py's `OptionsSnapshot` models. Both are read here.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from alpaca.data.historical.option import OptionHistoricalDataClient
from alpaca.data.requests import OptionChainRequest

from options.chains import OptionChain, OptionQuote
from options.contracts import OptionKind
from options.occ_symbols import parse_occ_symbol

REQUIRED_COLUMNS = ("symbol", "bid", "ask", "quote_time")
CONTRACT_COLUMNS = ("kind", "strike", "expiry")
_KINDS = {"call": OptionKind.CALL, "c": OptionKind.CALL, "put": OptionKind.PUT, "p": OptionKind.PUT}


class ChainFileError(ValueError):
    """A chain file that cannot be read; the message names the file, line and column."""


# ------------------------------------------------------------------------------------------- CSV
def load_chain_csv(path: str | Path, underlying: str, spot: float, as_of: datetime) -> OptionChain:
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ChainFileError(f"{path}: missing column(s) {', '.join(missing)} (header: {header})")
        given = [c for c in CONTRACT_COLUMNS if c in header]
        if given and len(given) != len(CONTRACT_COLUMNS):
            raise ChainFileError(f"{path}: columns kind, strike and expiry go together; only {given} given")
        quotes = []
        for row in reader:
            cells = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            try:
                quotes.append(_quote_from_row(cells, underlying, bool(given)))
            except _CellError as error:
                raise ChainFileError(
                    f"{path}, line {reader.line_num}, column {error.column}: {error.message}"
                ) from None
    try:
        return OptionChain(underlying, spot, as_of, tuple(quotes))
    except ValueError as error:
        raise ChainFileError(f"{path}: {error}") from None


class _CellError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _number(cells: Mapping[str, str], column: str, *, required: bool) -> float | None:
    text = cells.get(column, "")
    if not text:
        if required:
            raise _CellError(column, "is empty")
        return None
    try:
        value = float(text)
    except ValueError:
        raise _CellError(column, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise _CellError(column, f"{text!r} is not a finite number")
    return value


def _count(cells: Mapping[str, str], column: str) -> int | None:
    value = _number(cells, column, required=False)
    if value is None:
        return None
    if value != int(value) or value < 0:
        raise _CellError(column, f"{cells[column]!r} is not a whole non-negative number")
    return int(value)


def _price(cells: Mapping[str, str], column: str) -> float:
    value = _number(cells, column, required=False)
    return math.nan if value is None else value


def _timestamp(cells: Mapping[str, str], column: str) -> datetime | None:
    text = cells.get(column, "")
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise _CellError(column, f"{text!r} is not an ISO-8601 time") from None
    if when.utcoffset() is None:
        raise _CellError(column, f"{text!r} has no UTC offset (write Z or +00:00)")
    return when


def _quote_from_row(cells: Mapping[str, str], underlying: str, contract_columns: bool) -> OptionQuote:
    symbol = cells.get("symbol", "")
    if not symbol:
        raise _CellError("symbol", "is empty")
    if contract_columns:
        kind = _KINDS.get(cells.get("kind", "").lower())
        if kind is None:
            raise _CellError("kind", f"{cells.get('kind')!r} is not call, put, C or P")
        strike = _number(cells, "strike", required=True) or 0.0
        if strike <= 0:
            raise _CellError("strike", f"{cells['strike']!r} is not a positive strike")
        try:
            expiry = date.fromisoformat(cells.get("expiry", ""))
        except ValueError:
            raise _CellError("expiry", f"{cells.get('expiry')!r} is not a YYYY-MM-DD date") from None
    else:
        try:
            contract = parse_occ_symbol(symbol)
        except ValueError as error:
            raise _CellError("symbol", str(error)) from None
        kind, strike, expiry = contract.kind, contract.strike, contract.expiry
    try:
        return OptionQuote(
            symbol=symbol,
            underlying=underlying,
            kind=kind,
            strike=strike,
            expiry=expiry,
            bid=_price(cells, "bid"),
            ask=_price(cells, "ask"),
            last=_number(cells, "last", required=False),
            quote_time=_timestamp(cells, "quote_time"),
            volume=_count(cells, "volume"),
            open_interest=_count(cells, "open_interest"),
            iv=_number(cells, "iv", required=False),
        )
    except ValueError as error:
        raise _CellError("symbol", str(error)) from None


# ---------------------------------------------------------------------------------------- Alpaca
def load_chain_alpaca(
    client: OptionHistoricalDataClient,
    underlying: str,
    spot: float,
    as_of: datetime,
    request: OptionChainRequest | None = None,
) -> OptionChain:
    """Every contract alpaca-py returns for `underlying` (all pages), as an `OptionChain`.

    `request` narrows the query (expiry range, strikes, type, feed); its underlying must match.
    """
    if request is None:
        request = OptionChainRequest(underlying_symbol=underlying)
    elif request.underlying_symbol != underlying:
        raise ValueError(f"request is for {request.underlying_symbol}, not {underlying}")
    snapshots = client.get_option_chain(request)
    if not isinstance(snapshots, Mapping):
        raise ValueError(
            f"Alpaca option chain for {underlying}: expected snapshots by symbol, got {snapshots!r}"
        )
    quotes = [_quote_from_snapshot(symbol, snapshot, underlying) for symbol, snapshot in snapshots.items()]
    quotes.sort(key=lambda q: (q.expiry, q.strike, q.kind.value))
    return OptionChain(underlying, spot, as_of, tuple(quotes))


def _field(item: Any, raw_key: str, model_attribute: str) -> Any:
    """A value from raw JSON (`raw_key`) or from an alpaca-py model (`model_attribute`)."""
    if item is None:
        return None
    if isinstance(item, Mapping):
        return item.get(raw_key)
    return getattr(item, model_attribute, None)


def _time_of(value: Any, symbol: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        # Python 3.11 reads Alpaca's "Z" and nanosecond fractions (keeping microseconds)
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"Alpaca snapshot {symbol}: quote time {value!r} is not ISO-8601") from None


def _float_or_nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def _quote_from_snapshot(symbol: str, snapshot: Any, underlying: str) -> OptionQuote:
    try:
        contract = parse_occ_symbol(symbol)
    except ValueError as error:
        raise ValueError(f"Alpaca option chain for {underlying}: {error}") from None
    quote = _field(snapshot, "latestQuote", "latest_quote")
    trade = _field(snapshot, "latestTrade", "latest_trade")
    last = _field(trade, "p", "price")
    daily_bar = _field(snapshot, "dailyBar", "daily_bar")  # raw JSON only: the SDK's model drops it
    volume = _field(daily_bar, "v", "volume")
    iv = _field(snapshot, "impliedVolatility", "implied_volatility")
    return OptionQuote(
        symbol=symbol,
        underlying=underlying,
        kind=contract.kind,
        strike=contract.strike,
        expiry=contract.expiry,
        bid=_float_or_nan(_field(quote, "bp", "bid_price")),
        ask=_float_or_nan(_field(quote, "ap", "ask_price")),
        last=None if last is None else float(last),
        quote_time=_time_of(_field(quote, "t", "timestamp"), symbol),
        volume=None if volume is None else int(volume),
        iv=None if iv is None else float(iv),
    )
