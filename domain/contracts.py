"""What a prediction-market contract asks: the language the sources, the consensus engine, the
risk engine's blocker and the dashboard share.

A `ContractSpec` says which question a market settles on (`domain`, `measure`, `subject`,
the observation `day` or `period`) and where on the measured value YES pays (`strike`,
from the market's own `strike_type` / `floor_strike` / `cap_strike`, never from the
ticker's letter alone). `domain` routes the contract to the sources that know it: weather
tickers to meteorological models, economic ones to nowcasts, sports to sportsbooks; a
contract of `Domain.UNKNOWN` goes to none.

The parsers that build specs from Kalshi tickers and market payloads, and from Polymarket
markets, live in `domain.contract_parsing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any


class Domain(StrEnum):
    WEATHER = "weather"
    ECONOMICS = "economics"
    SPORTS = "sports"
    CRYPTO = "crypto"
    UNKNOWN = "unknown"


class Measure(StrEnum):
    """The number (or outcome) a contract settles on."""

    DAILY_HIGH_F = "daily_high_f"  # the day's highest temperature at the settlement station, whole °F
    DAILY_LOW_F = "daily_low_f"
    CPI_MOM_PCT = "cpi_mom_pct"  # BLS CPI month-over-month, % to one decimal
    CPI_YOY_PCT = "cpi_yoy_pct"
    GDP_QOQ_SAAR_PCT = "gdp_qoq_saar_pct"  # BEA advance estimate of real GDP, q/q annualised, %
    FED_FUNDS_UPPER_PCT = "fed_funds_upper_pct"  # upper bound of the target range after the meeting
    FED_DECISION = "fed_decision"  # hike / cut / hold (H25, C25 tokens)
    GAME_WINNER = "game_winner"  # the named team or side wins
    CRYPTO_PRICE = "crypto_price"
    UNKNOWN = "unknown"


class StrikeType(StrEnum):
    """Kalshi's `strike_type` values that place a contract's payoff on the underlying's value.

    `greater` / `less` are strict and `between` includes both ends, as the rules texts read."""

    GREATER = "greater"
    GREATER_OR_EQUAL = "greater_or_equal"
    LESS = "less"
    LESS_OR_EQUAL = "less_or_equal"
    BETWEEN = "between"


@dataclass(frozen=True, slots=True)
class Strike:
    """Where on the measured value YES pays: a Kalshi market's own strike fields, under Kalshi's names.

    These fields, not the ticker's letter, say where YES pays: a `T` market can be `greater` or
    `less`, and a `B` bracket includes both ends. The risk engine's `MarketStrike` is this class.
    """

    strike_type: StrikeType
    floor_strike: Decimal | None = None
    cap_strike: Decimal | None = None

    def __post_init__(self) -> None:
        needs_floor = self.strike_type not in (StrikeType.LESS, StrikeType.LESS_OR_EQUAL)
        needs_cap = self.strike_type in (StrikeType.LESS, StrikeType.LESS_OR_EQUAL, StrikeType.BETWEEN)
        if needs_floor and self.floor_strike is None:
            raise ValueError(f"strike_type {self.strike_type} needs a floor_strike")
        if needs_cap and self.cap_strike is None:
            raise ValueError(f"strike_type {self.strike_type} needs a cap_strike")
        if (
            self.floor_strike is not None
            and self.cap_strike is not None
            and self.floor_strike > self.cap_strike
        ):
            raise ValueError(f"floor_strike {self.floor_strike} above cap_strike {self.cap_strike}")

    @classmethod
    def from_kalshi_market(cls, market: Mapping[str, Any]) -> Strike:
        """From a market object of `GET /markets` (numbers or strings; absent, null or "" fields are None).

        Raises `ValueError` naming the market's ticker for a `strike_type` that does not place the
        payoff on a value (`functional`, `custom`, `structured`, absent) and for fields that do not
        make a strike.
        """
        ticker = market.get("ticker")
        raw_type = market.get("strike_type")
        try:
            strike_type = StrikeType(str(raw_type))
        except ValueError:
            raise ValueError(
                f"{ticker}: strike_type {raw_type!r} does not place the payoff on a value"
            ) from None
        try:
            return cls(
                strike_type,
                _decimal_field(market, "floor_strike"),
                _decimal_field(market, "cap_strike"),
            )
        except ValueError as error:
            raise ValueError(f"{ticker}: {error}") from None

    def pays_yes(self, value: Decimal) -> bool:
        """Whether a settled value pays YES."""
        floor, cap = self.floor_strike, self.cap_strike
        match self.strike_type:
            case StrikeType.GREATER:
                return floor is not None and value > floor
            case StrikeType.GREATER_OR_EQUAL:
                return floor is not None and value >= floor
            case StrikeType.LESS:
                return cap is not None and value < cap
            case StrikeType.LESS_OR_EQUAL:
                return cap is not None and value <= cap
            case StrikeType.BETWEEN:
                return floor is not None and cap is not None and floor <= value <= cap


def _decimal_field(market: Mapping[str, Any], key: str) -> Decimal | None:
    value = market.get(key)
    if value is None or value == "":
        return None
    # bool is an int to Python, and a float goes through str so 75799.99 stays 75799.99
    number = None if isinstance(value, bool) else _to_decimal(value)
    if number is None or not number.is_finite():
        raise ValueError(f"{key} {value!r} is not a number")
    return number


def _to_decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """One binary contract's question.

    - `venue` is the venue's name in config (`kalshi`, `sim-kalshi`, `polymarket`); `ticker` the
      market's symbol there (for Polymarket one outcome token, `<condition id>:<token id>`);
      `series` and `event` its Kalshi levels (for Polymarket both are the event slug, or the
      condition id when the market names no event); `underlying` what the
      contradictory-position blocker compares (the Kalshi event ticker, the Polymarket
      condition id).
    - `subject` names what is measured: a city code for weather (`CHI`, `NY`), the indicator
      for economics (`CPI`, `GDP`, `FED`), the teams for sports, the asset for crypto.
    - `day` is the observation day (weather: the settlement station's climate day; GDP: the
      release date); `period` a data month or meeting month written as on the ticker (`26AUG`).
    - `strike` is None for outcome markets (a team wins, a hike) whose YES is named by
      `outcome` instead.
    - `resolution_source` names what settles the market ("NWS CLI KMDW", a Polymarket market's
      `resolutionSource`); "" when the venue does not say. Two venues' markets on one question
      are the same bet only when they settle on the same source.
    """

    venue: str
    ticker: str
    series: str
    event: str
    underlying: str
    domain: Domain
    measure: Measure
    subject: str
    day: date | None = None
    period: str | None = None
    strike: Strike | None = None
    outcome: str | None = None
    title: str = ""
    resolution_source: str = ""
