"""What an instrument tracks, and which way a position bets on it.

This is the one place that turns a venue symbol into an *underlying* (the thing
whose value decides the position's P&L) and a position into a `Stance`, so the
contradictory-position blocker can ask `contradicts(open_stance, new_stance)`.

Underlyings, by asset class (`underlying_of`):

- stock: the symbol upper-cased; share classes written BRK.B, BRK-B, BRK/B or
  "BRK B" are one underlying, "BRK.B".
- crypto: the base asset. Separated spellings (BTC/USD, BTC-USD, btc_usdt,
  BTC-USD-SWAP) take the first part whatever the quote. Run-together spellings
  (BTCUSDT, XBTUSD) are split only on a fiat or stablecoin quote from
  `RUN_TOGETHER_CRYPTO_QUOTES`: splitting on BTC or ETH would read STETH as
  ST/ETH, so crypto-quoted pairs need a separator (ETH/BTC). Exchange aliases
  are mapped (XBT is BTC, XDG is DOGE). A cross pair is attributed to its base
  only: long ETH/BTC is long ETH here, not also short BTC.
- forex: the pair in market-convention order, "EUR/USD" from EUR_USD, EUR/USD,
  EURUSD or eur-usd. USD_EUR is the same underlying read the other way round,
  so buying it is a short EUR/USD (`canonical_forex_pair` gives the sign).
- prediction, Kalshi: the event ticker. `KXHIGHCHI-26FEB09-B38.5` is series
  KXHIGHCHI, event KXHIGHCHI-26FEB09, strike token B38.5. The grammar and what
  each token means live in `domain.contract_parsing` (B brackets, T thresholds,
  H/C Fed decisions, G, plain-number and named tokens); every well-formed market
  ticker maps to its event.
- prediction, Polymarket: the condition id, lower-case "0x" + 64 hex digits,
  written alone for the market or as "<condition id>:YES", "<condition id>:NO"
  or "<condition id>:<decimal token id>" for one outcome token. A bare token id
  is refused: it does not say which condition it belongs to.

Anything else raises `MalformedSymbol`, naming the symbol and what was expected.

Contradictions (`contradicts`): never across underlyings; otherwise

1. opposite directions contradict. A directional position (stock, crypto, forex,
   Kalshi threshold, Kalshi Fed hike or cut, Polymarket outcome) is +1 when it
   wins as the underlying rises, or on the "higher"/YES outcome, and -1 the
   other way. This is the
   issue's rule: NO "above 38.5" (bets the value stays at or below 38.5) and YES
   "above 40.5" contradict even though they never both pay, because they are two
   opposite views of one number; YES above 38.5 and YES above 40.5 do not.
2. two prediction positions with payoff regions also contradict when together
   they pay in every outcome: that guaranteed dollar is stake cancelling stake,
   bought at a dollar plus fees and spread. This is what catches YES and NO of
   one bracket, and a NO bracket beside a threshold that covers the rest of the
   line. It also means NO on two disjoint brackets of one event contradict (one
   of them always pays); with the entry price cap a pair of cheap NOs on
   disjoint brackets cannot arise in a coherent market anyway.

Brackets have direction 0, so rule 1 never applies to them: two YES brackets of
one event do not contradict (at most one pays, together they are one wider
bet), and a YES bracket beside a threshold of either direction does not either,
since there is always an outcome where both lose and so no dollar is locked in.

Kalshi Fed decisions (KXFEDDECISION, `H25` hike, `C25` cut, `H0` hold) are placed on
the line of the decided change in the target rate: a hike YES pays on (0, +inf),
direction +1 (rates up), a cut YES on (-inf, 0), direction -1, a hold YES on {0},
direction 0 like a bracket ("nothing moves"); NO pays on the rest and flips the
sign. So YES hike and YES cut of one meeting contradict, as do YES hike and NO
hike, and YES hold and NO hold (rule 2). The size in the token is not used:
whether H25 pays on exactly 25 bp or on at least 25 bp is UNVERIFIED, and either
way it bets that rates go up.

Other Kalshi tokens (G, plain numbers, team codes) take a region only from the
market's strike fields; without them a stance is refused, since nothing says
where they pay.

Payoff regions treat the underlying's value as a real number; `greater`/`less`
are strict and `between` includes both ends, as the Kalshi rules texts read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from domain.contract_parsing import MalformedSymbol as MalformedSymbol
from domain.contract_parsing import check_strike, fed_decision_bps, split_kalshi_ticker
from domain.contracts import Strike
from domain.contracts import StrikeType as StrikeType
from domain.instruments import AssetClass
from domain.signals import Side

# A Kalshi market's own strike fields: they, not the ticker letter, say where YES pays. One class with
# the contract language's `Strike`; the name is kept for the risk engine's callers.
MarketStrike = Strike


# ---------------------------------------------------------------------------------------------------------
# Parsing symbols into underlyings


_STOCK = re.compile(r"(?P<root>[A-Z0-9]{1,10})(?:[.\-/ ](?P<share_class>[A-Z]{1,2}))?")

# Quotes a run-together crypto symbol may end with, longest tried first (FDUSD before USD). TUSD and BUSD
# are left out on purpose: they would read XBTUSD as XB/TUSD and BNBUSD as BN/BUSD; spell those with a "/".
RUN_TOGETHER_CRYPTO_QUOTES: tuple[str, ...] = tuple(
    sorted(
        ("USD", "USDT", "USDC", "FDUSD", "USDP", "PYUSD", "DAI", "EUR", "GBP", "JPY", "TRY"),
        key=len,
        reverse=True,
    )
)
_CRYPTO_ALIASES: Mapping[str, str] = {"XBT": "BTC", "XDG": "DOGE"}  # Kraken's ISO-style codes
_CRYPTO_PART = re.compile(r"[A-Z0-9]{1,15}")

_FOREX = re.compile(r"(?P<base>[A-Z]{3})[/_\-. ]?(?P<quote>[A-Z]{3})")
# Which currency is quoted first by market convention (EUR/USD, USD/JPY, XAU/USD); others follow, A-Z.
_FOREX_PRIORITY: tuple[str, ...] = (
    *("XAU", "XAG", "XPT", "XPD"),
    *("EUR", "GBP", "AUD", "NZD", "USD", "CAD", "CHF"),
)

_POLYMARKET = re.compile(r"0x(?P<condition>[0-9a-f]{64})(?::(?P<suffix>YES|NO|[0-9]{1,78}))?", re.IGNORECASE)
_POLYMARKET_EXPECTED = (
    "a Polymarket condition id 0x + 64 hex digits, optionally followed by :YES, :NO or :<decimal token id>"
)


class Outcome(StrEnum):
    """Which side of a binary contract. For a two-outcome Polymarket market with named outcomes
    (Up/Down, two teams), the first outcome of `outcomes`/`clobTokenIds` is YES."""

    YES = "yes"
    NO = "no"

    @property
    def opposite(self) -> Outcome:
        return Outcome.NO if self is Outcome.YES else Outcome.YES


@dataclass(frozen=True, slots=True)
class PolymarketSymbol:
    condition_id: str  # lower-case 0x + 64 hex
    outcome: Outcome | None = None  # when the symbol spells it (":YES" / ":NO")
    token_id: str | None = None  # when the symbol carries the decimal CLOB token id


def parse_polymarket_symbol(symbol: str) -> PolymarketSymbol:
    match = _POLYMARKET.fullmatch(symbol)
    if match is None or not symbol.startswith("0x"):
        raise MalformedSymbol(symbol, _POLYMARKET_EXPECTED)
    condition_id = "0x" + match["condition"].lower()
    suffix = match["suffix"]
    if suffix is None:
        return PolymarketSymbol(condition_id)
    if suffix.isdigit():
        return PolymarketSymbol(condition_id, token_id=suffix)
    return PolymarketSymbol(condition_id, outcome=Outcome(suffix.lower()))


def canonical_forex_pair(symbol: str) -> tuple[str, int]:
    """The pair in market-convention order, and +1 if `symbol` is written that way round, -1 if inverted.

    `canonical_forex_pair("usd_eur") == ("EUR/USD", -1)`: buying USD/EUR is selling EUR/USD.
    """
    match = _FOREX.fullmatch(symbol.strip().upper())
    if match is None or match["base"] == match["quote"]:
        raise MalformedSymbol(symbol, "a pair of two different currency codes: EUR_USD, EUR/USD, EURUSD")
    base, quote = match["base"], match["quote"]
    if _forex_rank(base) <= _forex_rank(quote):
        return f"{base}/{quote}", 1
    return f"{quote}/{base}", -1


def _forex_rank(currency: str) -> tuple[int, str]:
    if currency in _FOREX_PRIORITY:
        return _FOREX_PRIORITY.index(currency), ""
    return len(_FOREX_PRIORITY), currency


def _stock_underlying(symbol: str) -> str:
    match = _STOCK.fullmatch(symbol.strip().upper())
    if match is None:
        raise MalformedSymbol(symbol, "a stock ticker of 1-10 letters or digits, maybe a share class: BRK.B")
    share_class = match["share_class"]
    return match["root"] if share_class is None else f"{match['root']}.{share_class}"


def _crypto_underlying(symbol: str) -> str:
    text = symbol.strip().upper()
    parts = re.split(r"[/\-_:]", text)
    if not 1 <= len(parts) <= 3 or not all(_CRYPTO_PART.fullmatch(part) for part in parts):
        raise MalformedSymbol(symbol, "a crypto pair such as BTC/USD, BTC-USD, BTCUSDT, or a bare asset: BTC")
    base = parts[0]
    if len(parts) == 1 and base not in RUN_TOGETHER_CRYPTO_QUOTES:
        for quote in RUN_TOGETHER_CRYPTO_QUOTES:
            if base.endswith(quote) and len(base) - len(quote) >= 2:
                base = base[: -len(quote)]
                break
    return _CRYPTO_ALIASES.get(base, base)


def _prediction_underlying(symbol: str) -> str:
    if symbol.startswith(("0x", "0X")):
        return parse_polymarket_symbol(symbol).condition_id
    if symbol.isdigit():
        raise MalformedSymbol(symbol, f"{_POLYMARKET_EXPECTED} (a bare token id names no condition)")
    return split_kalshi_ticker(symbol).event


def underlying_of(symbol: str, asset_class: AssetClass) -> str:
    """The key that groups every instrument whose value moves with the same thing (see the module doc)."""
    if not symbol:
        raise MalformedSymbol(symbol, f"a non-empty {asset_class.value} symbol")
    match asset_class:
        case AssetClass.STOCK:
            return _stock_underlying(symbol)
        case AssetClass.CRYPTO:
            return _crypto_underlying(symbol)
        case AssetClass.FOREX:
            return canonical_forex_pair(symbol)[0]
        case AssetClass.PREDICTION:
            return _prediction_underlying(symbol)


# ---------------------------------------------------------------------------------------------------------
# Payoff regions


@dataclass(frozen=True, slots=True)
class Interval:
    """A non-empty interval of the underlying's value; `None` is an unbounded end."""

    low: Decimal | None = None
    high: Decimal | None = None
    low_closed: bool = False
    high_closed: bool = False

    def __post_init__(self) -> None:
        if (self.low is None and self.low_closed) or (self.high is None and self.high_closed):
            raise ValueError(f"{self}: an unbounded end cannot be closed")
        if (
            self.low is not None
            and self.high is not None
            and (
                self.low > self.high or (self.low == self.high and not (self.low_closed and self.high_closed))
            )
        ):
            raise ValueError(f"{self}: empty interval")

    def overlaps(self, other: Interval) -> bool:
        low, low_closed = _tighter_low(self, other)
        high, high_closed = _tighter_high(self, other)
        if low is None or high is None:
            return True
        return low < high or (low == high and low_closed and high_closed)


def _tighter_low(a: Interval, b: Interval) -> tuple[Decimal | None, bool]:
    if a.low is None or (b.low is not None and b.low > a.low):
        return b.low, b.low_closed
    if b.low is None or a.low > b.low:
        return a.low, a.low_closed
    return a.low, a.low_closed and b.low_closed


def _tighter_high(a: Interval, b: Interval) -> tuple[Decimal | None, bool]:
    if a.high is None or (b.high is not None and b.high < a.high):
        return b.high, b.high_closed
    if b.high is None or a.high < b.high:
        return a.high, a.high_closed
    return a.high, a.high_closed and b.high_closed


def complement(region: tuple[Interval, ...]) -> tuple[Interval, ...]:
    """The rest of the real line, for a region of sorted, disjoint intervals."""
    gaps: list[Interval] = []
    gap_low: Decimal | None = None  # where the next gap starts; None is minus infinity at first
    gap_low_closed = False
    for index, part in enumerate(region):
        if part.low is not None:
            if gap_low is not None and (
                gap_low > part.low or (gap_low == part.low and not gap_low_closed and part.low_closed)
            ):
                raise ValueError(f"region {region} is not sorted and disjoint")
            if gap_low is None or gap_low < part.low or (gap_low_closed and not part.low_closed):
                gaps.append(Interval(gap_low, part.low, gap_low_closed, not part.low_closed))
        elif index > 0:
            raise ValueError(f"region {region} is not sorted and disjoint")
        if part.high is None:
            if index != len(region) - 1:
                raise ValueError(f"region {region} is not sorted and disjoint")
            return tuple(gaps)
        gap_low, gap_low_closed = part.high, not part.high_closed
    gaps.append(Interval(gap_low, None, gap_low_closed, False))
    return tuple(gaps)


def _regions_overlap(a: tuple[Interval, ...], b: tuple[Interval, ...]) -> bool:
    return any(x.overlaps(y) for x in a for y in b)


def yes_region(strike: Strike) -> tuple[Interval, ...]:
    """Where on the underlying's value a Kalshi market's YES pays, from its strike fields."""
    floor, cap = strike.floor_strike, strike.cap_strike
    match strike.strike_type:
        case StrikeType.GREATER | StrikeType.GREATER_OR_EQUAL:
            return (Interval(floor, None, low_closed=strike.strike_type is StrikeType.GREATER_OR_EQUAL),)
        case StrikeType.LESS | StrikeType.LESS_OR_EQUAL:
            return (Interval(None, cap, high_closed=strike.strike_type is StrikeType.LESS_OR_EQUAL),)
        case StrikeType.BETWEEN:
            return (Interval(floor, cap, low_closed=True, high_closed=True),)


def decision_yes_region(change_bps: int) -> tuple[Interval, ...]:
    """Where a Fed decision market's YES pays on the line of the decided change (module doc)."""
    if change_bps > 0:
        return (Interval(Decimal(0), None),)
    if change_bps < 0:
        return (Interval(None, Decimal(0)),)
    return (Interval(Decimal(0), Decimal(0), low_closed=True, high_closed=True),)


# ---------------------------------------------------------------------------------------------------------
# Stances


@dataclass(frozen=True, slots=True)
class Stance:
    """What a position bets: on which underlying, which way, and (Kalshi) where on its value it pays.

    `direction` is +1 for a position that wins as the underlying rises (or on the
    "higher"/YES outcome), -1 the other way, 0 for a non-directional bet (a bracket).
    `pays` is the set of the underlying's values where the position pays, for a
    Kalshi market; None for instruments whose payoff is not a region.
    """

    underlying: str
    direction: int
    pays: tuple[Interval, ...] | None = None
    # Underlyings are compared within an asset class: the stock ticker BTC (an ETF) and the
    # crypto asset BTC are different things, and so are the ticker ETH and ether.
    asset_class: AssetClass | None = None

    def __post_init__(self) -> None:
        if not self.underlying:
            raise ValueError("a stance needs an underlying")
        if self.direction not in (-1, 0, 1):
            raise ValueError(f"{self.underlying}: direction must be -1, 0 or +1, got {self.direction}")
        if self.pays is not None:
            if not self.pays or not complement(self.pays):
                raise ValueError(f"{self.underlying}: a binary contract pays on part of the line only")
            if self.direction != _direction_of(self.pays):
                raise ValueError(f"{self.underlying}: direction {self.direction} does not match {self.pays}")

    @property
    def loses(self) -> tuple[Interval, ...] | None:
        return None if self.pays is None else complement(self.pays)


def _direction_of(region: tuple[Interval, ...]) -> int:
    """+1 for a ray up to plus infinity, -1 for a ray from minus infinity, 0 for anything else."""
    if len(region) == 1:
        (part,) = region
        if part.high is None and part.low is not None:
            return 1
        if part.low is None and part.high is not None:
            return -1
    return 0


def stance_for(
    symbol: str,
    asset_class: AssetClass,
    side: Side,
    *,
    outcome: Outcome | None = None,
    strike: MarketStrike | None = None,
) -> Stance:
    """The stance of a position opened by `side` on `symbol`.

    Prediction markets need the `outcome` held (or spelled in a Polymarket
    symbol), and Kalshi markets the market's own `strike` fields. Selling an
    outcome is taken as holding the other one. Raises `MalformedSymbol` for a bad
    symbol and `ValueError` for missing, stray or contradictory outcome/strike.
    """
    underlying = underlying_of(symbol, asset_class)
    if asset_class is not AssetClass.PREDICTION:
        if outcome is not None or strike is not None:
            raise ValueError(f"{symbol}: outcome and strike apply to prediction markets only")
        orientation = canonical_forex_pair(symbol)[1] if asset_class is AssetClass.FOREX else 1
        return Stance(underlying, side.sign * orientation, asset_class=asset_class)
    if symbol.startswith(("0x", "0X")):
        held = _polymarket_outcome(symbol, outcome)
        if strike is not None:
            raise ValueError(f"{symbol}: a Polymarket stance takes no Kalshi strike fields")
        held = held if side is Side.BUY else held.opposite
        return Stance(underlying, 1 if held is Outcome.YES else -1, asset_class=asset_class)
    if outcome is None:
        raise ValueError(f"{symbol}: a Kalshi stance needs the outcome held (YES or NO)")
    held = outcome if side is Side.BUY else outcome.opposite
    yes = _kalshi_yes_region(symbol, strike)
    pays = yes if held is Outcome.YES else complement(yes)
    return Stance(underlying, _direction_of(pays), pays, asset_class)


def _kalshi_yes_region(symbol: str, strike: Strike | None) -> tuple[Interval, ...]:
    ticker = split_kalshi_ticker(symbol)
    change = fed_decision_bps(ticker)
    if change is None and strike is None:
        raise ValueError(f"{symbol}: a Kalshi stance needs the market's strike fields to know where it pays")
    check_strike(ticker, strike)  # a strike contradicting the ticker raises ContractMismatch, a ValueError
    if change is not None:
        return decision_yes_region(change)
    assert strike is not None
    return yes_region(strike)


def _polymarket_outcome(symbol: str, outcome: Outcome | None) -> Outcome:
    spelled = parse_polymarket_symbol(symbol).outcome
    if spelled is not None and outcome is not None and spelled is not outcome:
        raise ValueError(f"{symbol}: the symbol holds {spelled.name} but the outcome given is {outcome.name}")
    held = spelled or outcome
    if held is None:
        raise ValueError(f"{symbol}: a Polymarket stance needs the outcome held (YES or NO)")
    return held


def contradicts(a: Stance, b: Stance) -> bool:
    """True when two positions on one underlying could partly cancel (rules in the module doc)."""
    if a.underlying != b.underlying or a.asset_class != b.asset_class:
        return False
    if a.direction * b.direction == -1:
        return True
    a_loses, b_loses = a.loses, b.loses
    if a_loses is None or b_loses is None:
        return False
    # Together they pay in every outcome exactly when no value makes both lose.
    return not _regions_overlap(a_loses, b_loses)
