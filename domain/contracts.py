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

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


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
    """Where on the measured value YES pays."""

    strike_type: StrikeType
    floor: Decimal | None = None
    cap: Decimal | None = None

    def __post_init__(self) -> None:
        needs_floor = self.strike_type not in (StrikeType.LESS, StrikeType.LESS_OR_EQUAL)
        needs_cap = self.strike_type in (StrikeType.LESS, StrikeType.LESS_OR_EQUAL, StrikeType.BETWEEN)
        if needs_floor and self.floor is None:
            raise ValueError(f"strike_type {self.strike_type} needs a floor")
        if needs_cap and self.cap is None:
            raise ValueError(f"strike_type {self.strike_type} needs a cap")
        if self.floor is not None and self.cap is not None and self.floor > self.cap:
            raise ValueError(f"strike floor {self.floor} above its cap {self.cap}")

    def pays_yes(self, value: Decimal) -> bool:
        """Whether a settled value pays YES."""
        match self.strike_type:
            case StrikeType.GREATER:
                return self.floor is not None and value > self.floor
            case StrikeType.GREATER_OR_EQUAL:
                return self.floor is not None and value >= self.floor
            case StrikeType.LESS:
                return self.cap is not None and value < self.cap
            case StrikeType.LESS_OR_EQUAL:
                return self.cap is not None and value <= self.cap
            case StrikeType.BETWEEN:
                return self.floor is not None and self.cap is not None and self.floor <= value <= self.cap


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """One binary contract's question.

    - `venue` is the venue's name in config (`kalshi`, `sim-kalshi`, `polymarket`); `ticker` the
      market's symbol there; `series` and `event` its Kalshi levels (for Polymarket: the event
      slug and the condition id); `underlying` what the contradictory-position blocker
      compares (the Kalshi event ticker, the Polymarket condition id).
    - `subject` names what is measured: a city code for weather (`CHI`, `NY`), the indicator
      for economics (`CPI`, `GDP`, `FED`), the teams for sports, the asset for crypto.
    - `day` is the observation day (weather: the settlement station's climate day; GDP: the
      release date); `period` a data month or meeting month written as on the ticker (`26AUG`).
    - `strike` is None for outcome markets (a team wins, a hike) whose YES is named by
      `outcome` instead.
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
