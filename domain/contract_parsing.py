"""Kalshi tickers and market objects, and Polymarket markets, read into `ContractSpec`s.

Pure: no I/O, no clock. Reference: /work/shared/reference/prediction-markets.md §1.2 (ticker
grammar), §1.3 (market JSON eras), §1.10-1.11 (series), §2.3 (Gamma market JSON).

Kalshi
------
A market ticker has three levels, series - date token - market token:
`KXHIGHCHI-26FEB09-B38.5` is series KXHIGHCHI, event KXHIGHCHI-26FEB09, token B38.5.
`KALSHI_TICKER` below is the one regex for Kalshi tickers in the code base.

- The series names the question (`SERIES`): KXHIGH<CITY>/KXHIGHT<CITY> daily highs,
  KXLOWT<CITY> daily lows, KXCPI, KXCPIYOY, KXGDP, KXFED, KXFEDDECISION, KXBTC, KXETH and a
  few game series. Any other series is `Domain.UNKNOWN`, so it routes to no source; it is
  logged once per process, and never raises.
- The date token is `YYMON` (a data or meeting month: `26AUG`), `YYMONDD` (a day:
  `26FEB09`) or `YYMONDDHH` (a day and hour: `26APR0501`), optionally followed by
  letters (the team codes of a game, e.g. `25SEP07DALPHI`; that form is UNVERIFIED). A
  token that is not exactly a day is kept in `ContractSpec.period`.
- The market token's letter only hints. The market's own `strike_type`, `floor_strike`
  and `cap_strike` say where YES pays, and the parser checks them against the token,
  refusing a market whose fields contradict its ticker (`ContractMismatch`):
  - `B<mid>` needs `between` whose midpoint (floor + cap) / 2 is `mid`. Kalshi writes
    a crypto bracket [75700, 75800) as floor 75700, cap 75799.99 and ticker B75750, so
    the midpoint may fall short of the token by half the finest unit the fields are
    written in (the half-cent, 75749.995) when that unit is below 1. Integer brackets
    (38/39 -> B38.5) must match exactly, or B39 would pass for 38/39.
  - `T<x>` needs `greater`/`greater_or_equal` with floor x, or `less`/`less_or_equal`
    with cap x: the letter does not say which way (KXHIGHCHI-26JAN23-T5 is `less`).
  - `H<bps>` / `C<bps>` in KXFEDDECISION name an outcome, not a strike: "hike 25",
    "cut 25". The reference shows no spelling for "hold"; `H0` (or `C0`) is read as
    "hold". Their strike fields, if any, are not read.
  - `G<n>`, a plain number, a letters-only token (a team code), and H/C outside
    KXFEDDECISION: the token is kept as `outcome` and the strike comes from the fields
    when they place the payoff on a value, else it is None. What these tokens bet on is
    UNVERIFIED; the reference only says they exist.

Polymarket
----------
A Gamma market (`GET /markets`) is one condition with two or more outcome tokens; its
`outcomes` and `clobTokenIds` are JSON-encoded strings, paired by index. Each token is
one `ContractSpec` whose underlying is the condition id. The domain comes from keywords
in the question (`polymarket_domain`); the measure is left UNKNOWN, since a keyword
says what a market is about but not which number settles it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.contracts import ContractSpec, Domain, Measure, Strike, StrikeType

log = logging.getLogger(__name__)


class MalformedSymbol(ValueError):
    """A symbol that does not follow its venue's or asset class's grammar."""

    def __init__(self, symbol: str, expected: str) -> None:
        super().__init__(f"malformed symbol {symbol!r}: expected {expected}")
        self.symbol = symbol
        self.expected = expected


class ContractMismatch(ValueError):
    """A Kalshi market whose own fields contradict what its ticker says."""

    def __init__(self, ticker: str, ticker_says: str, market_says: str) -> None:
        super().__init__(f"{ticker}: the ticker says {ticker_says} but the market says {market_says}")
        self.ticker = ticker
        self.ticker_says = ticker_says
        self.market_says = market_says


# ---------------------------------------------------------------------------------------------------------
# Series


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    domain: Domain
    measure: Measure
    subject: str


@dataclass(frozen=True, slots=True)
class SeriesRule:
    """Series tickers matching `pattern` (whole name) ask about `measure`; `subject` None takes the city."""

    pattern: re.Pattern[str]
    domain: Domain
    measure: Measure
    subject: str | None = None


def _exactly(name: str, domain: Domain, measure: Measure, subject: str) -> SeriesRule:
    return SeriesRule(re.compile(re.escape(name)), domain, measure, subject)


# First match wins: KXHIGHT<CITY> before KXHIGH<CITY>, so KXHIGHTDC is DC (Washington-National).
SERIES: tuple[SeriesRule, ...] = (
    SeriesRule(re.compile(r"KXHIGHT(?P<city>[A-Z]+)"), Domain.WEATHER, Measure.DAILY_HIGH_F),
    SeriesRule(re.compile(r"KXHIGH(?P<city>[A-Z]+)"), Domain.WEATHER, Measure.DAILY_HIGH_F),
    SeriesRule(re.compile(r"KXLOWT(?P<city>[A-Z]+)"), Domain.WEATHER, Measure.DAILY_LOW_F),
    _exactly("KXCPI", Domain.ECONOMICS, Measure.CPI_MOM_PCT, "CPI"),
    _exactly("KXCPIYOY", Domain.ECONOMICS, Measure.CPI_YOY_PCT, "CPI"),
    _exactly("KXGDP", Domain.ECONOMICS, Measure.GDP_QOQ_SAAR_PCT, "GDP"),
    _exactly("KXFED", Domain.ECONOMICS, Measure.FED_FUNDS_UPPER_PCT, "FED"),
    _exactly("KXFEDDECISION", Domain.ECONOMICS, Measure.FED_DECISION, "FED"),
    _exactly("KXBTC", Domain.CRYPTO, Measure.CRYPTO_PRICE, "BTC"),
    _exactly("KXETH", Domain.CRYPTO, Measure.CRYPTO_PRICE, "ETH"),
    # Game series: these names are UNVERIFIED (no captured payload in the reference).
    _exactly("KXNFLGAME", Domain.SPORTS, Measure.GAME_WINNER, "NFL"),
    _exactly("KXNBAGAME", Domain.SPORTS, Measure.GAME_WINNER, "NBA"),
    _exactly("KXMLBGAME", Domain.SPORTS, Measure.GAME_WINNER, "MLB"),
    _exactly("KXNHLGAME", Domain.SPORTS, Measure.GAME_WINNER, "NHL"),
)

UNKNOWN_SERIES = SeriesInfo(Domain.UNKNOWN, Measure.UNKNOWN, "")

# Series already reported as unknown in this process, so each is logged once.
_LOGGED_UNKNOWN_SERIES: set[str] = set()


def series_info(series: str) -> SeriesInfo | None:
    """What a series asks about, or None for a series not in `SERIES`. Logs nothing."""
    for rule in SERIES:
        match = rule.pattern.fullmatch(series)
        if match is not None:
            subject = rule.subject if rule.subject is not None else match["city"]
            return SeriesInfo(rule.domain, rule.measure, subject)
    return None


def classify_series(series: str) -> SeriesInfo:
    """`series_info`, with an unknown series logged once per process and classified UNKNOWN."""
    info = series_info(series)
    if info is not None:
        return info
    if series not in _LOGGED_UNKNOWN_SERIES:
        _LOGGED_UNKNOWN_SERIES.add(series)
        log.warning("Kalshi series %s is not in the series table: its contracts route to no source", series)
    return UNKNOWN_SERIES


# ---------------------------------------------------------------------------------------------------------
# Date tokens

MONTHS: tuple[str, ...] = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

_DATE_TOKEN = re.compile(
    r"(?P<year>[0-9]{2})(?P<month>[A-Z]{3})(?:(?P<day>[0-9]{2})(?P<hour>[0-9]{2})?)?(?P<rest>[A-Z][A-Z0-9]*)?"
)
_DATE_EXPECTED = "a date token YYMON, YYMONDD or YYMONDDHH (26AUG, 26FEB09, 26APR0501)"


@dataclass(frozen=True, slots=True)
class DateToken:
    """A Kalshi event's date token, read: `26APR0501` is 2026-04-05, hour 01."""

    text: str
    year: int
    month: int
    day: date | None = None
    hour: int | None = None
    rest: str = ""  # letters after the date, e.g. a game's team codes (UNVERIFIED form)

    @property
    def is_day(self) -> bool:
        """Whether the token is exactly a day (YYMONDD), with no hour or suffix."""
        return self.day is not None and self.hour is None and not self.rest


def parse_date_token(token: str) -> DateToken:
    """Read a date token; raises `MalformedSymbol` naming the token and what is wrong with it."""
    match = _DATE_TOKEN.fullmatch(token)
    if match is None:
        raise MalformedSymbol(token, _DATE_EXPECTED)
    if match["month"] not in MONTHS:
        raise MalformedSymbol(token, f"{_DATE_EXPECTED}; {match['month']} is not a month")
    year, month = 2000 + int(match["year"]), MONTHS.index(match["month"]) + 1
    day: date | None = None
    if match["day"] is not None:
        try:
            day = date(year, month, int(match["day"]))
        except ValueError:
            raise MalformedSymbol(
                token, f"{_DATE_EXPECTED}; {year}-{month:02} has no day {match['day']}"
            ) from None
    hour = None if match["hour"] is None else int(match["hour"])
    if hour is not None and hour > 23:
        raise MalformedSymbol(token, f"{_DATE_EXPECTED}; hour {match['hour']} is past 23")
    return DateToken(token, year, month, day, hour, match["rest"] or "")


def period_year_month(period: str) -> tuple[int, int]:
    """The year and month of a period as written on a ticker: `period_year_month("26AUG") == (2026, 8)`."""
    token = parse_date_token(period)
    return token.year, token.month


# ---------------------------------------------------------------------------------------------------------
# Kalshi tickers

KALSHI_TICKER = re.compile(
    r"(?P<event>(?P<series>[A-Z][A-Z0-9]*)-(?P<date>[0-9]{2}[A-Z0-9]*))"
    r"-(?P<token>(?P<letters>[A-Z]*)(?P<number>[0-9]+(?:\.[0-9]+)?)?)"
)
KALSHI_TICKER_EXPECTED = (
    "a Kalshi market ticker SERIES-DATE-TOKEN, e.g. KXHIGHCHI-26FEB09-B38.5, KXCPI-26AUG-T0.3, "
    "KXFEDDECISION-27APR-H25"
)


class StrikeKind(StrEnum):
    """What a Kalshi market token is, by its letter."""

    BRACKET = "B"  # B<midpoint>
    THRESHOLD = "T"  # T<strike>, either way
    HIKE = "H"  # H<basis points>
    CUT = "C"  # C<basis points>
    G = "G"  # G<number>: meaning UNVERIFIED
    NUMBER = ""  # a plain number: meaning UNVERIFIED
    NAMED = "named"  # letters only, e.g. a team code: UNVERIFIED


_NUMBERED_KINDS = frozenset(kind.value for kind in StrikeKind if kind is not StrikeKind.NAMED)


@dataclass(frozen=True, slots=True)
class KalshiTicker:
    """A Kalshi market ticker in its three levels, and its market token read."""

    ticker: str
    series: str
    event: str
    date: DateToken
    token: str  # the market token as written: B38.5, T5, H25, G100, DAL
    strike_kind: StrikeKind
    strike_value: Decimal | None  # the token's number (midpoint, strike, basis points); None if named


def split_kalshi_ticker(ticker: str) -> KalshiTicker:
    """Split `KXHIGHCHI-26FEB09-B38.5` into its levels; raises `MalformedSymbol` naming the ticker.

    Tickers are matched as Kalshi prints them (upper case). The series is not looked up
    here, so this never logs: an unknown series is still a well-formed ticker.
    """
    match = KALSHI_TICKER.fullmatch(ticker)
    if match is None:
        raise MalformedSymbol(ticker, KALSHI_TICKER_EXPECTED)
    try:
        when = parse_date_token(match["date"])
    except MalformedSymbol as error:
        bad_date = f"date token {match['date']!r}: {error.expected}"
        raise MalformedSymbol(ticker, f"{KALSHI_TICKER_EXPECTED}; {bad_date}") from None
    letters, number, token = match["letters"], match["number"], match["token"]
    if number is None:
        if letters in _NUMBERED_KINDS:  # "" or a bare B, T, H, C, G
            raise MalformedSymbol(ticker, f"{KALSHI_TICKER_EXPECTED}; token {token!r} has no number")
        kind, value = StrikeKind.NAMED, None
    else:
        if letters not in _NUMBERED_KINDS:
            raise MalformedSymbol(
                ticker, f"{KALSHI_TICKER_EXPECTED}; token letter {letters!r} is not B/T/H/C/G"
            )
        kind, value = StrikeKind(letters), Decimal(number)
        if kind in (StrikeKind.HIKE, StrikeKind.CUT) and "." in number:
            raise MalformedSymbol(ticker, f"{KALSHI_TICKER_EXPECTED}; {token} needs whole basis points")
    return KalshiTicker(ticker, match["series"], match["event"], when, token, kind, value)


def fed_decision_bps(ticker: KalshiTicker) -> int | None:
    """The change in the target rate a KXFEDDECISION market's YES names, in basis points.

    +25 for `H25`, -25 for `C25`, 0 for hold (`H0`/`C0`); None for any other market.
    """
    info = series_info(ticker.series)
    if info is None or info.measure is not Measure.FED_DECISION or ticker.strike_value is None:
        return None
    if ticker.strike_kind is StrikeKind.HIKE:
        return int(ticker.strike_value)
    if ticker.strike_kind is StrikeKind.CUT:
        return -int(ticker.strike_value)
    return None


def check_strike(ticker: KalshiTicker, strike: Strike | None) -> None:
    """Raise `ContractMismatch` when the strike fields contradict the ticker's token (module doc)."""
    value, token = ticker.strike_value, ticker.token
    if ticker.strike_kind is StrikeKind.BRACKET and value is not None:
        if strike is None or strike.strike_type is not StrikeType.BETWEEN:
            raise ContractMismatch(
                ticker.ticker, f"bracket {token} (strike_type between)", _described(strike)
            )
        floor, cap = strike.floor_strike, strike.cap_strike
        assert floor is not None and cap is not None  # a between Strike has both
        midpoint = (floor + cap) / 2
        if abs(midpoint - value) > _midpoint_tolerance(floor, cap):
            raise ContractMismatch(
                ticker.ticker, f"bracket midpoint {value}", f"{_described(strike)}, midpoint {midpoint}"
            )
    elif ticker.strike_kind is StrikeKind.THRESHOLD and value is not None:
        match strike:
            case Strike(strike_type=StrikeType.GREATER | StrikeType.GREATER_OR_EQUAL, floor_strike=floor):
                matches = floor == value
            case Strike(strike_type=StrikeType.LESS | StrikeType.LESS_OR_EQUAL, cap_strike=cap):
                matches = cap == value
            case _:
                matches = False
        if not matches:
            raise ContractMismatch(
                ticker.ticker,
                f"threshold {token} (greater with floor_strike {value}, or less with cap_strike {value})",
                _described(strike),
            )
    elif fed_decision_bps(ticker) is not None and strike is not None:
        raise ContractMismatch(
            ticker.ticker, f"the decision {_fed_outcome(ticker)} (no strike)", _described(strike)
        )


def _midpoint_tolerance(floor: Decimal, cap: Decimal) -> Decimal:
    exponent = min(_exponent(floor), _exponent(cap))
    return Decimal(0) if exponent >= 0 else Decimal(1).scaleb(exponent) / 2


def _exponent(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0


def _described(strike: Strike | None) -> str:
    if strike is None:
        return "no strike_type placing the payoff on a value"
    return (
        f"strike_type {strike.strike_type.value}, floor_strike {strike.floor_strike}, "
        f"cap_strike {strike.cap_strike}"
    )


def _fed_outcome(ticker: KalshiTicker) -> str:
    change = fed_decision_bps(ticker)
    if change is None or change == 0:
        return "hold"
    return f"hike {change}" if change > 0 else f"cut {-change}"


def parse_kalshi_ticker(venue: str, ticker: str, strike: Strike | None, title: str = "") -> ContractSpec:
    """A market's spec from its ticker and its strike fields given separately (the simulated venue's way).

    Raises `MalformedSymbol` for a ticker off the grammar and `ContractMismatch` for a
    strike that contradicts the ticker's token.
    """
    return _kalshi_spec(venue, split_kalshi_ticker(ticker), strike, title)


def parse_kalshi_market(venue: str, market: Mapping[str, Any]) -> ContractSpec:
    """A market's spec from a `GET /markets` market object (current era or the Jan-Mar 2026 transition era).

    Raises `MalformedSymbol` for a ticker off the grammar, `ContractMismatch` when
    `event_ticker` or the strike fields contradict the ticker, and `ValueError` naming
    the field for a missing ticker or unreadable strike fields.
    """
    ticker = _required_text(market, "ticker", "Kalshi market")
    parsed = split_kalshi_ticker(ticker)
    event_ticker = _required_text(market, "event_ticker", f"Kalshi market {ticker}")
    if event_ticker != parsed.event:
        raise ContractMismatch(ticker, f"event {parsed.event}", f"event_ticker {event_ticker}")
    title = market.get("title")
    return _kalshi_spec(
        venue, parsed, _market_strike(parsed, market), title if isinstance(title, str) else ""
    )


_VALUE_STRIKE_TYPES = frozenset(kind.value for kind in StrikeType)


def _market_strike(ticker: KalshiTicker, market: Mapping[str, Any]) -> Strike | None:
    if fed_decision_bps(ticker) is not None:
        return None  # a decision names its outcome; whatever strike fields it carries are not read
    if market.get("strike_type") not in _VALUE_STRIKE_TYPES:
        return None  # no payoff on a value: fine for G, numbers and names; `check_strike` refuses B and T
    return Strike.from_kalshi_market(market)


def _kalshi_spec(venue: str, ticker: KalshiTicker, strike: Strike | None, title: str) -> ContractSpec:
    check_strike(ticker, strike)
    info = classify_series(ticker.series)
    subject = info.subject
    if info.measure is Measure.GAME_WINNER and ticker.date.rest:
        subject = ticker.date.rest  # the teams, as the ticker writes them
    if fed_decision_bps(ticker) is not None:
        outcome: str | None = _fed_outcome(ticker)
    elif ticker.strike_kind in (StrikeKind.BRACKET, StrikeKind.THRESHOLD):
        outcome = None
    else:
        outcome = ticker.token
    return ContractSpec(
        venue=venue,
        ticker=ticker.ticker,
        series=ticker.series,
        event=ticker.event,
        underlying=ticker.event,
        domain=info.domain,
        measure=info.measure,
        subject=subject,
        day=ticker.date.day,
        period=None if ticker.date.is_day else ticker.date.text,
        strike=strike,
        outcome=outcome,
        title=title,
    )


# ---------------------------------------------------------------------------------------------------------
# Polymarket

_CONDITION_ID = re.compile(r"0x[0-9a-fA-F]{64}")
_TOKEN_ID = re.compile(r"[0-9]{1,78}")  # a uint256 in decimal

# Keywords in a market's question; weather is tried first. Acronyms match case-sensitively so
# "fed" as a verb does not make a market economic. FOMC, Federal Reserve and interest rates
# widen the brief's CPI/inflation/GDP/Fed list by their obvious synonyms.
_WEATHER_WORDS = re.compile(r"\b(?:temperature|weather)\b", re.IGNORECASE)
_ECONOMICS_WORDS = re.compile(
    r"(?i:\b(?:inflation|federal reserve|interest rates?)\b)|\b(?:CPI|GDP|Fed|FOMC)\b"
)


def polymarket_domain(question: str) -> Domain:
    """WEATHER for temperature/weather questions, ECONOMICS for CPI/inflation/GDP/Fed ones, else UNKNOWN."""
    if _WEATHER_WORDS.search(question):
        return Domain.WEATHER
    if _ECONOMICS_WORDS.search(question):
        return Domain.ECONOMICS
    return Domain.UNKNOWN


def parse_polymarket_market(venue: str, market: Mapping[str, Any]) -> list[ContractSpec]:
    """One spec per outcome token of a Gamma market object, in the market's outcome order.

    Raises `ValueError` naming the field for a missing or malformed `conditionId`,
    `outcomes` or `clobTokenIds` (which must be JSON-encoded lists of strings, of one length).
    """
    where = f"Polymarket market {market.get('id') or market.get('slug') or '?'}"
    condition = _required_text(market, "conditionId", where)
    if _CONDITION_ID.fullmatch(condition) is None:
        raise ValueError(f"{where}: conditionId {condition!r} is not 0x + 64 hex digits")
    condition = condition.lower()
    outcomes = _json_text_list(market, "outcomes", where)
    tokens = _json_text_list(market, "clobTokenIds", where)
    if len(outcomes) != len(tokens):
        raise ValueError(f"{where}: outcomes has {len(outcomes)} entries but clobTokenIds has {len(tokens)}")
    for token in tokens:
        if _TOKEN_ID.fullmatch(token) is None:
            raise ValueError(f"{where}: clobTokenIds entry {token!r} is not a decimal token id")
    question = market.get("question")
    question = question if isinstance(question, str) else ""
    source = market.get("resolutionSource")
    event = _event_slug(market) or condition
    domain = polymarket_domain(question)
    return [
        ContractSpec(
            venue=venue,
            ticker=f"{condition}:{token}",
            series=event,
            event=event,
            underlying=condition,
            domain=domain,
            measure=Measure.UNKNOWN,
            subject="",
            outcome=outcome,
            title=question,
            resolution_source=source.strip() if isinstance(source, str) else "",
        )
        for outcome, token in zip(outcomes, tokens, strict=True)
    ]


def _event_slug(market: Mapping[str, Any]) -> str | None:
    events = market.get("events")
    if isinstance(events, list) and events and isinstance(events[0], Mapping):
        slug = events[0].get("slug")
        if isinstance(slug, str) and slug:
            return slug
    return None


def _json_text_list(market: Mapping[str, Any], key: str, where: str) -> list[str]:
    raw = market.get(key)
    if not isinstance(raw, str):
        raise ValueError(f"{where}: {key} must be a JSON-encoded string, got {type(raw).__name__}")
    try:
        decoded = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: {key} {raw!r} is not valid JSON ({error.msg})") from None
    if not isinstance(decoded, list) or not decoded or not all(isinstance(item, str) for item in decoded):
        raise ValueError(f"{where}: {key} {raw!r} is not a non-empty JSON list of strings")
    return decoded


def _required_text(market: Mapping[str, Any], key: str, where: str) -> str:
    value = market.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: {key} is missing or not a string ({value!r})")
    return value
