"""The simulated prediction world: Kalshi-style weather and economic markets with hidden outcomes.

For the default run, the tests and the calibration benchmark. Everything is drawn from one
seed, so a world is reproducible; nothing here reads a clock or the network.

- **Weather** (`KXHIGH<CITY>`): each city's daily high follows its climate, a seasonal mean
  with day-to-day noise (`CityClimate`). A day's event is a Kalshi ladder around the
  crowd's expectation: a `less` tail, four 2 °F `between` brackets, a `greater` tail, with
  real-looking tickers (`KXHIGHCHI-26FEB09-B38.5`) and the strike fields that decide YES.
- **Economics** (`KXCPI`): each month's CPI month-over-month change (published to one
  decimal) with `greater` thresholds 0.0 ... 0.5 (`KXCPI-26AUG-T0.3`).
- **Forecasts** are noisy views of the hidden value with the documented error bands: a
  31-member GFS-like ensemble (a shared error of the run plus each member's own), an NWS-like
  point forecast (3 °F), a Cleveland-Fed-like CPI nowcast (0.10 pp), and the CPI base rate
  (the world's own long-run mean and spread of CPI m/m, which knows nothing of the month).
- **Crowd prices** carry the favourite-longshot bias measured on Kalshi (Becker 2026, in
  `shared/reference/prediction-markets.md` §8: contracts at 5 ¢ win about 4 %): the crowd's
  own belief comes from a weaker forecast, and its price over-weights small probabilities,
  logit(price) = `LONGSHOT_SLOPE` × logit(belief), quoted in whole cents with a one-cent spread;
  one weather event's ladder is then scaled to add up to `LADDER_OVERROUND`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from domain.contract_parsing import MONTHS
from domain.contracts import ContractSpec, Domain, Measure, Strike, StrikeType
from scrapers.probability import band_probability
from scrapers.weather.probability import normal_probability

VENUE = "sim-kalshi"
ENSEMBLE_MEMBERS = 31  # GEFS: control plus 30 perturbed
ENSEMBLE_RUN_SD_F = 2.5  # the error all members share (the run's own miss)
ENSEMBLE_MEMBER_SD_F = 2.0  # each member's spread around the run
NWS_SD_F = 3.0  # the point forecast's error, as the NWS model assumes
# the crowd's own forecast misses by this much, and it knows it: alone it is about as good as the
# ensemble's mean, but the ensemble and the NWS forecast together (independent errors) beat it
CROWD_SD_F = 2.5
CPI_MEAN_PCT = 0.25  # the long-run mean of CPI m/m
CPI_SD_PP = 0.15  # month-to-month spread of CPI m/m around its mean
CPI_NOWCAST_SD_PP = 0.10
CROWD_CPI_SD_PP = 0.14
LONGSHOT_SLOPE = 0.8  # logit(price) = 0.8 logit(belief): a 4 % belief trades near 7 ¢
LADDER_OVERROUND = 1.04  # what one event's six mids add up to
# what settles each market (prediction-markets.md §1.10, config/stations.toml): the NWS Daily Climate
# Report of one station per city (Chicago is Midway, not O'Hare), and for CPI the BLS release
KALSHI_SOURCES: dict[str, str] = {
    "CHI": "NWS CLI KMDW",
    "NY": "NWS CLI KNYC",
    "MIA": "NWS CLI KMIA",
    "DEN": "NWS CLI KDEN",
}
CPI_SOURCE = "BLS CPI-U m/m (SA), one decimal"


@dataclass(frozen=True, slots=True)
class CityClimate:
    """A city's daily high: mean + amplitude × sin(2π (day of year − 105) / 365), ± `daily_sd_f`."""

    code: str  # as in the series ticker: KXHIGH<code>
    mean_f: float
    amplitude_f: float
    daily_sd_f: float

    @property
    def series(self) -> str:
        return f"KXHIGH{self.code}"

    def expected_high(self, day: date) -> float:
        phase = 2 * math.pi * (day.timetuple().tm_yday - 105) / 365
        return self.mean_f + self.amplitude_f * math.sin(phase)


CITIES = (
    CityClimate("CHI", 59.0, 24.0, 7.0),
    CityClimate("NY", 62.0, 20.0, 6.0),
    CityClimate("MIA", 84.0, 6.0, 3.0),
    CityClimate("DEN", 64.0, 22.0, 8.0),
)


@dataclass(frozen=True, slots=True)
class SimulatedMarket:
    """One contract of the world: its question, the crowd's quote, and (hidden) how it settles."""

    contract: ContractSpec
    yes_bid: Decimal
    yes_ask: Decimal
    outcome_yes: bool  # hidden from the bots; the venue settles on it

    @property
    def crowd_price(self) -> float:
        return float(self.yes_bid + self.yes_ask) / 2


@dataclass(frozen=True, slots=True)
class WeatherEvent:
    """One city-day: its hidden high, the forecasts of it, and its market ladder."""

    city: CityClimate
    day: date
    true_high_f: int  # whole °F, as the climate report publishes it
    ensemble_f: tuple[float, ...]  # each member's forecast high
    nws_point_f: float
    markets: tuple[SimulatedMarket, ...]
    crowd_mean_f: float = math.nan  # the crowd's forecast the ladder was priced on (°F)

    @property
    def event_ticker(self) -> str:
        return f"{self.city.series}-{date_token(self.day)}"


@dataclass(frozen=True, slots=True)
class CpiEvent:
    year: int
    month: int
    true_mom_pct: Decimal  # published to one decimal
    nowcast_pct: float
    markets: tuple[SimulatedMarket, ...]
    crowd_mean_pct: float = math.nan  # the crowd's forecast its thresholds were priced on

    @property
    def period(self) -> str:
        return f"{self.year % 100:02d}{MONTHS[self.month - 1]}"


def date_token(day: date) -> str:
    return f"{day.year % 100:02d}{MONTHS[day.month - 1]}{day.day:02d}"


def longshot_price(belief: float) -> float:
    """The price the crowd pays for a YES it believes in with probability `belief`."""
    clipped = min(max(belief, 1e-4), 1 - 1e-4)
    logit = math.log(clipped / (1 - clipped)) * LONGSHOT_SLOPE
    return 1 / (1 + math.exp(-logit))


def ladder_beliefs(beliefs: list[float], overround: float = LADDER_OVERROUND) -> list[float]:
    """Prices of one event's mutually exclusive markets: each longshot-biased, then scaled so the
    ladder sums to `overround` (a real ladder's mids add up to a little over one dollar)."""
    biased = [longshot_price(b) for b in beliefs]
    total = sum(biased)
    return [p * overround / total for p in biased]


def crowd_quote(belief: float, *, biased: bool = True) -> tuple[Decimal, Decimal]:
    """The crowd's bid and ask for a YES priced at `belief` (passed through `longshot_price` first
    unless `biased` is False: already a price), in whole cents, one cent wide, within 1 ¢ ... 99 ¢."""
    price = longshot_price(belief) if biased else belief
    cents = min(98, max(1, round(price * 100)))
    return Decimal(cents).scaleb(-2), Decimal(cents + 1).scaleb(-2)


def weather_ladder(city: CityClimate, day: date, center: int) -> list[tuple[str, Strike]]:
    """The day's six markets around `center` (whole °F): (ticker, strike), as Kalshi lists them."""
    event = f"{city.series}-{date_token(day)}"
    low = center - 4  # brackets [low, low+1], [low+2, low+3], [low+4, low+5], [low+6, low+7]
    ladder = [(f"{event}-T{low}", Strike(StrikeType.LESS, cap_strike=Decimal(low)))]
    for k in range(4):
        floor = low + 2 * k
        mid = Decimal(floor) + Decimal("0.5")
        ladder.append((f"{event}-B{mid}", Strike(StrikeType.BETWEEN, Decimal(floor), Decimal(floor + 1))))
    top = low + 7
    ladder.append((f"{event}-T{top}", Strike(StrikeType.GREATER, floor_strike=Decimal(top))))
    return ladder


def weather_event(city: CityClimate, day: date, rng: np.random.Generator) -> WeatherEvent:
    expected = city.expected_high(day)
    true_value = expected + rng.normal(0.0, city.daily_sd_f)
    true_high = round(true_value)
    run = true_value + rng.normal(0.0, ENSEMBLE_RUN_SD_F)
    members = tuple(float(run + rng.normal(0.0, ENSEMBLE_MEMBER_SD_F)) for _ in range(ENSEMBLE_MEMBERS))
    nws = float(true_value + rng.normal(0.0, NWS_SD_F))
    crowd_mean = float(true_value + rng.normal(0.0, CROWD_SD_F))
    markets = []
    ladder = weather_ladder(city, day, round(crowd_mean))
    beliefs = ladder_beliefs([normal_probability(crowd_mean, strike, CROWD_SD_F) for _, strike in ladder])
    for (ticker, strike), belief in zip(ladder, beliefs, strict=True):
        bid, ask = crowd_quote(belief, biased=False)
        contract = ContractSpec(
            venue=VENUE,
            ticker=ticker,
            series=city.series,
            event=f"{city.series}-{date_token(day)}",
            underlying=f"{city.series}-{date_token(day)}",
            domain=Domain.WEATHER,
            measure=Measure.DAILY_HIGH_F,
            subject=city.code,
            day=day,
            strike=strike,
            title=f"Highest temperature in {city.code} on {day:%b %d, %Y}",
            resolution_source=KALSHI_SOURCES[city.code],
        )
        markets.append(SimulatedMarket(contract, bid, ask, strike.pays_yes(Decimal(true_high))))
    return WeatherEvent(city, day, true_high, members, nws, tuple(markets), crowd_mean)


def cpi_event(year: int, month: int, rng: np.random.Generator, mean_pct: float = CPI_MEAN_PCT) -> CpiEvent:
    true_value = mean_pct + rng.normal(0.0, CPI_SD_PP)
    published = Decimal(str(round(true_value, 1)))
    nowcast = float(true_value + rng.normal(0.0, CPI_NOWCAST_SD_PP))
    crowd_mean = float(true_value + rng.normal(0.0, CROWD_CPI_SD_PP))
    period = f"{year % 100:02d}{MONTHS[month - 1]}"
    markets = []
    for tenths in range(6):
        threshold = Decimal(tenths) / 10
        strike = Strike(StrikeType.GREATER, floor_strike=threshold)
        belief = band_probability(crowd_mean, strike, CROWD_CPI_SD_PP, decimals=1)
        bid, ask = crowd_quote(belief)
        contract = ContractSpec(
            venue=VENUE,
            ticker=f"KXCPI-{period}-T{threshold}",
            series="KXCPI",
            event=f"KXCPI-{period}",
            underlying=f"KXCPI-{period}",
            domain=Domain.ECONOMICS,
            measure=Measure.CPI_MOM_PCT,
            subject="CPI",
            period=period,
            strike=strike,
            title=f"CPI month-over-month above {threshold}% for {MONTHS[month - 1]} {year}",
            resolution_source=CPI_SOURCE,
        )
        markets.append(SimulatedMarket(contract, bid, ask, strike.pays_yes(published)))
    return CpiEvent(year, month, published, nowcast, tuple(markets), crowd_mean)


def weather_days(start: date, days: int, seed: int) -> Iterator[WeatherEvent]:
    """Every city's event for `days` days from `start`, reproducibly from `seed`.

    Each city-day draws from its own generator, seeded by (seed, day, city): the same market
    has the same hidden outcome whichever day a run starts on, so a daemon that restarts
    lists the world it was trading, not a new one."""
    for offset in range(days):
        day = start + timedelta(days=offset)
        for index, city in enumerate(CITIES):
            yield weather_event(city, day, np.random.default_rng([seed, day.toordinal(), index]))


def cpi_months(first_year: int, first_month: int, months: int, seed: int) -> Iterator[CpiEvent]:
    """`months` CPI months from the first, each drawn from its own generator seeded by (seed, year, month)."""
    year, month = first_year, first_month
    for _ in range(months):
        yield cpi_event(year, month, np.random.default_rng([seed, year, month]))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
