"""Polymarket's twins of the simulated Kalshi world's events: the same hidden truth, another crowd.

The default run trades only simulated venues, so cross-venue arbitrage needs a second venue
listing the same questions. Each `WeatherEvent` and `CpiEvent` the Kalshi world drew gets a
Polymarket mirror per Kalshi market (same strikes, YES token only):

- **Another crowd, mostly of one mind with Kalshi's.** Traders watch both venues, so the mirror's
  crowd forecasts the Kalshi crowd's number plus its own small disagreement, Normal(0,
  `DISAGREEMENT_F`) °F (or `DISAGREEMENT_PP` pp for CPI), with the same uncertainty and the same
  favourite-longshot bias. The two venues' prices on one strike then differ by a few cents, now
  and then by more than both fees and spreads: the arbitrage.
- **Another source, sometimes.** New York, Miami and Denver mirrors settle on the same NWS
  climate report as Kalshi. Chicago's, like Polymarket's real Chicago markets, settle on
  Weather Underground's O'Hare (KORD) history, not Midway's CLI (prediction-markets.md §1.10):
  here the O'Hare high is Midway's plus round(Normal(0, `OHARE_OFFSET_SD_F`)), and the mirror's
  YES is decided on it. YES on one venue and NO on the other can then lose on both legs, which
  is why the matcher refuses pairs whose sources differ.
- **Polymarket's book.** Prices move on a 0.001 tick and the books here are two cents wide
  (`mirror_quote`); the smallest order is five shares (`orderMinSize`).

Every mirror is drawn from a generator seeded by (seed, crc32(Kalshi event ticker), 7), so a
venue started on any day lists the same mirrors for the same event.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

from domain.contracts import ContractSpec, Strike, StrikeType
from domain.instruments import AssetClass, Instrument
from scrapers.probability import band_probability
from scrapers.weather.probability import normal_probability
from simulation.prediction_world import (
    CPI_SOURCE,
    CROWD_CPI_SD_PP,
    CROWD_SD_F,
    KALSHI_SOURCES,
    CpiEvent,
    SimulatedMarket,
    WeatherEvent,
    ladder_beliefs,
    longshot_price,
)

__all__ = [
    "KALSHI_SOURCES",
    "POLYMARKET_SOURCES",
    "VENUE",
    "MirrorMarket",
    "condition_id",
    "mirror_cpi",
    "mirror_quote",
    "mirror_weather",
    "polymarket_instrument",
    "token_id",
]

VENUE = "sim-polymarket"
# Polymarket's real Chicago markets settle on Weather Underground's O'Hare page over the clock-time
# day (config/stations.toml, [polymarket.chicago-high]); the other cities' mirrors share Kalshi's station
POLYMARKET_SOURCES: dict[str, str] = {
    "CHI": "Weather Underground KORD",
    "NY": KALSHI_SOURCES["NY"],
    "MIA": KALSHI_SOURCES["MIA"],
    "DEN": KALSHI_SOURCES["DEN"],
}
CITY_NAMES = {"CHI": "Chicago", "NY": "NYC", "MIA": "Miami", "DEN": "Denver"}
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
OHARE_OFFSET_SD_F = 1.5  # O'Hare's high minus Midway's, whole °F after rounding
DISAGREEMENT_F = 0.6  # how far Polymarket's crowd forecast sits from Kalshi's, °F (one sd)
DISAGREEMENT_PP = 0.03  # the same for CPI m/m, percentage points
TICK = Decimal("0.001")
HALF_SPREAD = Decimal("0.01")
MIN_SHARES = Decimal(5)
_LOWEST = TICK
_HIGHEST = 1 - TICK
_STREAM = 7  # the third seed word: keeps these draws apart from any other (seed, crc32) stream


@dataclass(frozen=True, slots=True)
class MirrorMarket:
    """One Polymarket YES token mirroring a Kalshi market: its question, opening mid and (hidden) outcome.

    `mirrors` names the Kalshi ticker it copies, for tests and reports only: matching goes by terms.
    """

    contract: ContractSpec
    crowd_price: float
    outcome_yes: bool
    mirrors: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.crowd_price) and 0.0 < self.crowd_price < 1.0):
            raise ValueError(
                f"{self.contract.ticker}: crowd price must lie in (0, 1), got {self.crowd_price}"
            )


def condition_id(kalshi_ticker: str) -> str:
    """The mirror's condition id: "0x" + sha256 of "sim-polymarket|<kalshi ticker>" (64 hex digits)."""
    return "0x" + hashlib.sha256(f"{VENUE}|{kalshi_ticker}".encode()).hexdigest()


def token_id(condition: str) -> str:
    """The mirror's YES token id: a decimal number read from the condition id's first 30 hex digits."""
    return str(int(condition[2:32], 16))


def _rng(seed: int, event_ticker: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(event_ticker.encode()), _STREAM])


def _day_words(day: date) -> tuple[str, str]:
    """("february-9-2026", "February 9"): a day as Polymarket's slugs and questions write it."""
    month = MONTH_NAMES[day.month - 1]
    return f"{month.lower()}-{day.day}-{day.year}", f"{month} {day.day}"


def _bracket_words(strike: Strike) -> str:
    """A whole-degree strike as Polymarket's questions word it ("between 38-39°F", "46°F or higher")."""
    floor, cap = strike.floor_strike, strike.cap_strike
    match strike.strike_type:
        case StrikeType.BETWEEN:
            return f"between {floor}-{cap}°F"
        case StrikeType.LESS if cap is not None:
            return f"{cap - 1}°F or below"
        case StrikeType.GREATER if floor is not None:
            return f"{floor + 1}°F or higher"
        case _:
            raise ValueError(f"no Polymarket wording for strike {strike}")


def _mirror_contract(kalshi: ContractSpec, slug: str, title: str, source: str) -> ContractSpec:
    condition = condition_id(kalshi.ticker)
    return ContractSpec(
        venue=VENUE,
        ticker=f"{condition}:{token_id(condition)}",
        series=slug,
        event=slug,
        underlying=condition,
        domain=kalshi.domain,
        measure=kalshi.measure,
        subject=kalshi.subject,
        day=kalshi.day,
        period=kalshi.period,
        strike=kalshi.strike,
        outcome="Yes",  # the YES token: what the contradictory-position blocker reads the stance from
        title=title,
        resolution_source=source,
    )


def _strike_of(market: SimulatedMarket) -> Strike:
    strike = market.contract.strike
    if strike is None:
        raise ValueError(f"{market.contract.ticker}: a mirrored market needs a strike")
    return strike


def mirror_weather(event: WeatherEvent, seed: int) -> tuple[MirrorMarket, ...]:
    """Polymarket's twins of one city-day ladder (see the module docstring)."""
    rng = _rng(seed, event.event_ticker)
    code = event.city.code
    # the crowd's miss first, the other station's offset second: both are drawn for every city so
    # one city's source never shifts another draw
    disagreement = float(rng.normal(0.0, DISAGREEMENT_F))
    station_offset = round(float(rng.normal(0.0, OHARE_OFFSET_SD_F)))
    source = POLYMARKET_SOURCES[code]
    settled_high = event.true_high_f + (0 if source == KALSHI_SOURCES[code] else station_offset)
    # the other station's offset is not known before the day: the crowd forecasts Kalshi's number
    crowd_mean = event.crowd_mean_f + disagreement
    strikes = [_strike_of(market) for market in event.markets]
    prices = ladder_beliefs([normal_probability(crowd_mean, strike, CROWD_SD_F) for strike in strikes])
    slug_day, title_day = _day_words(event.day)
    city = CITY_NAMES.get(code, code)
    slug = f"highest-temperature-in-{city.lower()}-on-{slug_day}"
    return tuple(
        MirrorMarket(
            _mirror_contract(
                market.contract,
                slug,
                f"Will the highest temperature in {city} be {_bracket_words(strike)} on {title_day}?",
                source,
            ),
            _opening_mid(price),
            strike.pays_yes(Decimal(settled_high)),
            market.contract.ticker,
        )
        for market, strike, price in zip(event.markets, strikes, prices, strict=True)
    )


def mirror_cpi(event: CpiEvent, seed: int) -> tuple[MirrorMarket, ...]:
    """Polymarket's twins of one CPI month's thresholds: the same BLS release settles both venues."""
    rng = _rng(seed, f"KXCPI-{event.period}")
    crowd_mean = event.crowd_mean_pct + float(rng.normal(0.0, DISAGREEMENT_PP))
    month = MONTH_NAMES[event.month - 1]
    slug = f"cpi-mom-{month.lower()}-{event.year}"
    mirrors = []
    for market in event.markets:
        strike = _strike_of(market)
        belief = band_probability(crowd_mean, strike, CROWD_CPI_SD_PP, decimals=1)
        title = f"Will CPI rise more than {strike.floor_strike}% in {month} {event.year}?"
        mirrors.append(
            MirrorMarket(
                _mirror_contract(market.contract, slug, title, CPI_SOURCE),
                _opening_mid(longshot_price(belief)),
                strike.pays_yes(event.true_mom_pct),
                market.contract.ticker,
            )
        )
    return tuple(mirrors)


def mirror_quote(mid: float) -> tuple[Decimal, Decimal]:
    """Polymarket's bid and ask around `mid` here: mid ∓ 0.01 on the 0.001 tick, within 0.001 ... 0.999."""
    if not (math.isfinite(mid) and 0.0 <= mid <= 1.0):
        raise ValueError(f"a mid must lie in [0, 1], got {mid}")
    centre = Decimal(repr(mid)).quantize(TICK, rounding=ROUND_HALF_EVEN)
    # each side clamped on its own: at the edges the book narrows (0.001 / 0.010 at a mid of 0) but
    # never crosses, since the unclamped side stays at least 0.009 inside
    return max(centre - HALF_SPREAD, _LOWEST), min(centre + HALF_SPREAD, _HIGHEST)


def _opening_mid(price: float) -> float:
    """A crowd price as an opening mid: within one tick of 0 and 1 (a scaled ladder can pass $1)."""
    return min(max(price, float(_LOWEST)), float(_HIGHEST))


def polymarket_instrument(contract: ContractSpec) -> Instrument:
    """A mirror's YES token as the venue lists it: 0.001 tick, whole shares, at least five of them."""
    return Instrument(
        symbol=contract.ticker,
        venue=contract.venue,
        asset_class=AssetClass.PREDICTION,
        tick_size=TICK,
        lot_size=Decimal(1),
        underlying=contract.underlying,
        min_quantity=MIN_SHARES,
        contract=contract,
    )
