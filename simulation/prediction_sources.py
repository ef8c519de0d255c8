"""The simulated world's forecasters: the real probability models run on the world's noisy forecasts.

`sim_gfs_ensemble` counts the world's 31 ensemble members with the same rule as the real
GFS source (`scrapers.weather.probability.ensemble_probability`), `sim_nws_forecast` puts the
same Normal(point, 3 °F) around the world's point forecast, `sim_cleveland_fed` the same
0.10 pp band around its CPI nowcast (`scrapers.probability.band_probability`), and
`sim_cpi_base_rate` the real base-rate model (`scrapers.economics.cpi_base_rate`) on the world's
long-run mean and spread of CPI. Only the data is simulated; the arithmetic is the one that
prices real markets. For the games, `sim_sportsbook` is the sharp books' de-vigged price and
`sim_power_rating` a rating model, each a noisy view of the game's hidden probability
(`simulation.sports_world`).

`replay_scores` plays a whole world through the consensus engine with calibration learned as
markets settle, and reports Brier scores of the consensus and of the crowd: the measurement
behind "the consensus beats the crowd price" (`benchmarks/prediction_brier.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from bots.event_trading.consensus import ConsensusSettings, calibration_weights, consensus
from bots.event_trading.gates import BookTop, edge_gate
from domain.contracts import ContractSpec, Domain, Measure
from domain.fees import KalshiFees
from domain.instruments import Instrument
from domain.prediction_records import Calibration
from scrapers.base import ContractSource, EstimateResult, NoEstimate, SourceEstimate, SourceHealth
from scrapers.economics.cpi_base_rate import base_rate_probability
from scrapers.probability import band_probability
from scrapers.weather.probability import ensemble_probability, normal_probability
from scrapers.whales import tape_estimate
from simulation.prediction_market import SimulatedPredictionMarket, learned
from simulation.prediction_world import (
    CPI_MEAN_PCT,
    CPI_NOWCAST_SD_PP,
    CPI_SD_PP,
    NWS_SD_F,
    CpiEvent,
    SimulatedMarket,
    WeatherEvent,
)
from simulation.sports_world import SportsGame

Probability = Callable[[ContractSpec], float | None]


class WorldForecasts:
    """The forecasts of a world's events, looked up by a contract's event ticker."""

    def __init__(
        self,
        weather: Iterable[WeatherEvent] = (),
        cpi: Iterable[CpiEvent] = (),
        games: Iterable[SportsGame] = (),
    ) -> None:
        self.weather: dict[str, WeatherEvent] = {}
        self.cpi: dict[str, CpiEvent] = {}
        self.games: dict[str, SportsGame] = {}
        self.add(weather, cpi, games)

    def add(
        self,
        weather: Iterable[WeatherEvent] = (),
        cpi: Iterable[CpiEvent] = (),
        games: Iterable[SportsGame] = (),
    ) -> None:
        """Know the forecasts of newly listed events too."""
        self.weather.update({e.event_ticker: e for e in weather})
        self.cpi.update({f"KXCPI-{e.period}": e for e in cpi})
        self.games.update({g.event_ticker: g for g in games})

    def _game(self, contract: ContractSpec) -> SportsGame | None:
        game = self.games.get(contract.event)
        if game is None or contract.measure is not Measure.GAME_WINNER or contract.outcome is None:
            return None
        return game

    def sportsbook(self, contract: ContractSpec) -> float | None:
        """The sharp books' de-vigged chance of the contract's team winning."""
        game = self._game(contract)
        return None if game is None else game.probability_of(str(contract.outcome), game.sportsbook_home)

    def power_rating(self, contract: ContractSpec) -> float | None:
        """The power-rating model's chance of the contract's team winning."""
        game = self._game(contract)
        return None if game is None else game.probability_of(str(contract.outcome), game.rating_home)

    def gfs(self, contract: ContractSpec) -> float | None:
        event = self.weather.get(contract.event)
        if event is None or contract.strike is None or contract.measure is not Measure.DAILY_HIGH_F:
            return None
        return ensemble_probability(event.ensemble_f, contract.strike)

    def nws(self, contract: ContractSpec) -> float | None:
        event = self.weather.get(contract.event)
        if event is None or contract.strike is None or contract.measure is not Measure.DAILY_HIGH_F:
            return None
        return normal_probability(event.nws_point_f, contract.strike, NWS_SD_F)

    def cleveland(self, contract: ContractSpec) -> float | None:
        event = self.cpi.get(contract.event)
        if event is None or contract.strike is None or contract.measure is not Measure.CPI_MOM_PCT:
            return None
        return band_probability(event.nowcast_pct, contract.strike, CPI_NOWCAST_SD_PP, decimals=1)

    def cpi_base_rate(self, contract: ContractSpec) -> float | None:
        """The base rate of a listed CPI month: history's mean and spread, the same every month."""
        if (
            contract.event not in self.cpi
            or contract.strike is None
            or contract.measure is not Measure.CPI_MOM_PCT
        ):
            return None
        return base_rate_probability(CPI_MEAN_PCT, CPI_SD_PP, contract.strike)[0]


@dataclass(slots=True)
class SimulatedSource:
    """A `ContractSource` over one of `WorldForecasts`' models.

    With `market`, the forecaster learns as the crowd does while the market trades: what it
    said before anything was known moves towards the outcome by the share of information
    arrived (`SimulatedPredictionMarket.information`), as forecasts sharpen when the day
    nears; without it (the replay) it keeps its first view. A model of history alone
    (`learns` False: the CPI base rate) keeps its view whatever arrives."""

    name: str
    domains: frozenset[Domain]
    probability: Probability
    market: SimulatedPredictionMarket | None = None
    learns: bool = True
    _health: SourceHealth = field(init=False)

    def __post_init__(self) -> None:
        self._health = SourceHealth(self.name)

    def health(self) -> SourceHealth:
        return self._health

    async def estimate(self, contract: ContractSpec, now: datetime) -> EstimateResult:
        if contract.domain not in self.domains:
            return NoEstimate(self.name, f"{contract.domain} is outside this source's domains")
        p = self.probability(contract)
        if p is None:
            return NoEstimate(self.name, f"the simulated world has no forecast for {contract.event}")
        evidence: dict[str, object] = {"simulated": True, "forecast_probability": p}
        if self.market is not None:
            key = f"{contract.venue}:{contract.ticker}"
            listed = self.market.listed(key)
            information = self.market.information(key, now)
            if listed is None or information is None:
                return NoEstimate(self.name, f"{contract.ticker} is not trading")
            if self.learns:
                p = learned(p, listed.market.outcome_yes, information)
                evidence["information"] = round(information, 6)
        self._health.last_success_at = now
        return SourceEstimate(self.name, p, now, evidence)


class SimulatedWhaleTracker:
    """The whale tracker's model (`scrapers.whales.tape_estimate`, the same arithmetic as on
    Kalshi's tape) over the simulated market's trade tape, against its current mid."""

    name = "sim_whale_tracker"
    domains = frozenset({Domain.WEATHER, Domain.ECONOMICS})

    def __init__(
        self,
        market: SimulatedPredictionMarket,
        lookback: timedelta = timedelta(hours=6),
        min_notional_usd: float = 500.0,
        max_shift: float = 0.05,
    ) -> None:
        self._market = market
        self._health = SourceHealth(self.name)
        self.lookback = lookback
        self.min_notional_usd = min_notional_usd
        self.max_shift = max_shift

    def health(self) -> SourceHealth:
        return self._health

    async def estimate(self, contract: ContractSpec, now: datetime) -> EstimateResult:
        listed = self._market.listed(f"{contract.venue}:{contract.ticker}")
        mid = None if listed is None else listed.mid_at(now)
        if mid is None:
            return NoEstimate(self.name, f"{contract.ticker} is not trading")
        trades = self._market.trades(contract.ticker, now - self.lookback, now)
        result = tape_estimate(
            self.name,
            contract.ticker,
            trades,
            mid,
            now,
            lookback=self.lookback,
            min_notional_usd=self.min_notional_usd,
            max_shift=self.max_shift,
        )
        self._health.last_success_at = now
        return result


class SimulatedListings:
    """The simulated venue's listing: its horizon extended to `now`, the new events' forecasts
    made known to the world's sources, the new markets returned."""

    def __init__(self, market: SimulatedPredictionMarket, forecasts: WorldForecasts) -> None:
        self._market = market
        self._forecasts = forecasts

    async def listings(self, now: datetime) -> list[Instrument]:
        listing = self._market.extend(now)
        self._forecasts.add(listing.weather, listing.cpi, listing.games)
        return list(listing.instruments)


def simulated_sources(
    world: WorldForecasts, market: SimulatedPredictionMarket | None = None
) -> list[ContractSource]:
    """The world's forecasters, and the whale tracker over `market`'s tape when given."""
    weather, economics = frozenset({Domain.WEATHER}), frozenset({Domain.ECONOMICS})
    sports = frozenset({Domain.SPORTS})
    sources: list[ContractSource] = [
        SimulatedSource("sim_gfs_ensemble", weather, world.gfs, market),
        SimulatedSource("sim_nws_forecast", weather, world.nws, market),
        SimulatedSource("sim_cleveland_fed", economics, world.cleveland, market),
        SimulatedSource("sim_cpi_base_rate", economics, world.cpi_base_rate, market, learns=False),
        SimulatedSource("sim_sportsbook", sports, world.sportsbook, market),
        SimulatedSource("sim_power_rating", sports, world.power_rating, market),
    ]
    if market is not None:
        sources.append(SimulatedWhaleTracker(market))
    return sources


@dataclass(frozen=True, slots=True)
class ReplayScores:
    """What a replay measured. Brier scores are means of (p − outcome)² over the markets counted."""

    markets: int
    consensus_markets: int  # markets where the sources gave a consensus probability (edge or not)
    brier_consensus: float  # over consensus_markets, the sources' weighted mean
    brier_crowd: float  # over the same markets, the crowd's mid
    edges: int  # markets where the sources agreed on a side against the crowd
    trades: int  # of those, entries the edge gate let through (after fees and spread)
    pnl_per_contract: float  # summed over the trades, one contract each, fees paid
    weights: Mapping[str, float] = field(default_factory=dict)  # final calibration weights

    @property
    def roi(self) -> float:
        return 0.0 if self.trades == 0 else self.pnl_per_contract / self.trades


def replay_scores(
    events: Sequence[Sequence[SimulatedMarket]],
    forecasts: Mapping[str, Probability],
    settings: ConsensusSettings | None = None,
    *,
    min_edge: float = 0.05,
) -> ReplayScores:
    """Play `events` (each a list of markets that settle together) in order: price each market with
    every forecaster, form the consensus with the calibration learned so far, trade the edges the
    edge gate passes at the ask (one contract, Kalshi's fee), then settle and update calibration."""
    settings = settings or ConsensusSettings()
    calibration: dict[str, Calibration] = {name: Calibration(name) for name in forecasts}
    fees = KalshiFees()
    squared_consensus = squared_crowd = pnl = 0.0
    markets = counted = edges = trades = 0
    stamp = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
    for event in events:
        settled: list[tuple[str, float, bool]] = []
        for market in event:
            markets += 1
            outcome = 1.0 if market.outcome_yes else 0.0
            estimates = []
            for name, probability in forecasts.items():
                p = probability(market.contract)
                if p is not None:
                    estimates.append(SourceEstimate(name, p, stamp))
                    settled.append((name, p, market.outcome_yes))
            if not estimates:
                continue
            verdict = consensus(estimates, market.crowd_price, calibration, settings)
            mean = sum(verdict.weights[e.source] * e.probability for e in estimates)
            counted += 1
            squared_consensus += (mean - outcome) ** 2
            squared_crowd += (market.crowd_price - outcome) ** 2
            if not verdict.has_edge:
                continue
            edges += 1
            gate = edge_gate(verdict, BookTop(market.yes_bid, market.yes_ask), fees, min_edge=min_edge)
            if gate.passed:
                trades += 1
                cost = Decimal(str(gate.details["ask"])) + Decimal(str(gate.details["fee_per_contract"]))
                won = market.outcome_yes if verdict.side == "yes" else not market.outcome_yes
                pnl += (1.0 if won else 0.0) - float(cost)
        for name, p, outcome_yes in settled:
            calibration[name] = calibration[name].settle(p, outcome_yes)
    return ReplayScores(
        markets=markets,
        consensus_markets=counted,
        brier_consensus=squared_consensus / counted if counted else float("nan"),
        brier_crowd=squared_crowd / counted if counted else float("nan"),
        edges=edges,
        trades=trades,
        pnl_per_contract=pnl,
        weights=calibration_weights(list(calibration), calibration, settings),
    )
