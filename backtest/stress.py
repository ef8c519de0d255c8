"""Stress tests: what the book, or a strategy's backtest, loses on a named bad day or a synthetic one.

Scenarios are data. A `PriceShock` moves prices by a return per asset class, overridden per symbol
(historical days, a gap down); `VolatilitySpike` scales moves by k; `CorrelationToOne` moves every
position together by the worst single move of another scenario; `LiquidityDrought` leaves prices
alone and charges the cost of getting out through widened spreads and slipped exits.

Prediction-market contracts do not follow index moves: the historical days leave them alone, and
the worst-case scenarios (gap down, correlation to one) settle each against its holder: $0 for a
long YES, $1 for a short.

All prices and P&Ls are floats in the quote currency; gains are positive, `loss` is minus the P&L.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

import numpy as np
import numpy.typing as npt

from backtest.vectorized import Costs, VectorResult, run_targets
from domain.instruments import AssetClass

FloatArray = npt.NDArray[np.float64]

_RISK_ASSETS = (AssetClass.STOCK, AssetClass.CRYPTO)


def symbol_key(symbol: str) -> str:
    """One spelling per symbol across venues: upper case, `/` and `-` as `_` (BTC/USD -> BTC_USD)."""
    return symbol.upper().replace("/", "_").replace("-", "_")


def _frozen(mapping: Mapping[str, float] | Mapping[AssetClass, float]) -> Mapping[str, float]:
    return MappingProxyType({str(key): float(value) for key, value in mapping.items()})


# --- the book ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookPosition:
    """One open position as the stress test sees it: plain values the daemon's book can hand over.

    `instrument_key` is `venue:symbol` (as `Instrument.key`); `quantity` is signed (short < 0) and
    counts contracts; one contract is `multiplier` units of the price (1 for stocks, crypto, FX units
    and prediction contracts).
    """

    instrument_key: str
    asset_class: AssetClass
    quantity: float
    multiplier: float = 1.0

    def __post_init__(self) -> None:
        if ":" not in self.instrument_key or not self.symbol:
            raise ValueError(f"instrument_key must be 'venue:symbol', got {self.instrument_key!r}")
        if not math.isfinite(self.quantity):
            raise ValueError(f"{self.instrument_key}: quantity must be finite, got {self.quantity}")
        if not (math.isfinite(self.multiplier) and self.multiplier > 0):
            raise ValueError(f"{self.instrument_key}: multiplier must be positive, got {self.multiplier}")

    @property
    def symbol(self) -> str:
        return self.instrument_key.split(":", 1)[1]


@dataclass(frozen=True, slots=True)
class StressResult:
    """The book under one scenario. `breaches_daily_loss_limit` is the risk engine's test
    (today's P&L so far plus the scenario's at or below minus the limit)."""

    scenario: str
    pnl: float
    loss_fraction_of_equity: float  # loss / equity; negative when the scenario is a gain
    breaches_daily_loss_limit: bool
    position_pnls: Mapping[str, float]  # instrument key -> P&L under the scenario, summed over bots

    @property
    def loss(self) -> float:
        return -self.pnl


class Scenario(Protocol):
    """A stress scenario: its effect on the book's positions and on one instrument's price series."""

    @property
    def name(self) -> str: ...

    def position_pnls(self, positions: Sequence[BookPosition], marks: FloatArray) -> FloatArray:
        """Each position's P&L under the scenario, `marks[i]` being position i's current price."""
        ...

    def shock_series(
        self, open_: FloatArray, close: FloatArray, at_index: int, asset_class: AssetClass, symbol: str
    ) -> ShockedSeries:
        """The price series with the scenario injected at bar `at_index`, bars before it untouched."""
        ...


class MarkShock(Scenario, Protocol):
    """A scenario that moves prices (so another scenario can build on its moves)."""

    def shocked_marks(self, positions: Sequence[BookPosition], marks: FloatArray) -> FloatArray: ...


@dataclass(frozen=True, slots=True, eq=False)
class ShockedSeries:
    """Prices after a shock; `extra_slippage` is a per-bar rate added to the usual slippage (None: none)."""

    open_: FloatArray
    close: FloatArray
    extra_slippage: FloatArray | None = None


def stress_book(
    positions: Sequence[BookPosition],
    marks: Mapping[str, float],
    scenarios: Sequence[Scenario],
    daily_loss_limit: float,
    *,
    equity: float,
    daily_pnl: float = 0.0,
) -> list[StressResult]:
    """The book's P&L under each scenario, as a share of `equity`, against the daily loss limit.

    `marks` maps each position's instrument key to its current price; `daily_pnl` is the P&L already
    taken today, which the scenario's adds to before the limit is tested.
    """
    if not (math.isfinite(daily_loss_limit) and daily_loss_limit > 0):
        raise ValueError(f"daily_loss_limit must be positive, got {daily_loss_limit}")
    if not (math.isfinite(equity) and equity > 0):
        raise ValueError(f"equity must be positive, got {equity}")
    prices = _marks_of(positions, marks)
    results = []
    for scenario in scenarios:
        pnls = scenario.position_pnls(positions, prices)
        total = float(pnls.sum())
        results.append(
            StressResult(
                scenario=scenario.name,
                pnl=total,
                loss_fraction_of_equity=-total / equity,
                breaches_daily_loss_limit=daily_pnl + total <= -daily_loss_limit,
                position_pnls=_by_instrument(positions, pnls),
            )
        )
    return results


def _by_instrument(positions: Sequence[BookPosition], pnls: FloatArray) -> Mapping[str, float]:
    """P&L per instrument key, summed over the bots that hold it."""
    totals: dict[str, float] = {}
    for position, pnl in zip(positions, pnls, strict=True):
        totals[position.instrument_key] = totals.get(position.instrument_key, 0.0) + float(pnl)
    return MappingProxyType(totals)


def _marks_of(positions: Sequence[BookPosition], marks: Mapping[str, float]) -> FloatArray:
    prices = np.empty(len(positions), dtype=np.float64)
    for index, position in enumerate(positions):
        if position.instrument_key not in marks:
            raise ValueError(f"no mark for {position.instrument_key}")
        price = float(marks[position.instrument_key])
        if not (math.isfinite(price) and price >= 0):
            raise ValueError(f"{position.instrument_key}: mark must be a non-negative price, got {price}")
        if position.asset_class is AssetClass.PREDICTION and price > 1:
            raise ValueError(
                f"{position.instrument_key}: a prediction contract's mark is in [0, 1], got {price}"
            )
        prices[index] = price
    return prices


def _price_pnls(positions: Sequence[BookPosition], marks: FloatArray, shocked: FloatArray) -> FloatArray:
    quantity = np.array([p.quantity * p.multiplier for p in positions], dtype=np.float64)
    result: FloatArray = (shocked - marks) * quantity
    return result


def _worst_settlement(position: BookPosition) -> float:
    """A prediction contract settled against its holder: NO for a long YES ($0), YES for a short ($1)."""
    return 0.0 if position.quantity > 0 else 1.0


# --- price shocks: historical days and the gap down --------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class PriceShock:
    """Prices move by a return per asset class, overridden per symbol (keys as `symbol_key` spells them).

    A class absent from `asset_class_moves` is not moved. The class move stands for every instrument of
    the class (a beta of one to the index the number comes from).
    """

    name: str
    description: str
    asset_class_moves: Mapping[str, float] = field(default_factory=dict)
    symbol_moves: Mapping[str, float] = field(default_factory=dict)
    prediction_worst_case: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "asset_class_moves", _frozen(self.asset_class_moves))
        object.__setattr__(
            self, "symbol_moves", _frozen({symbol_key(k): v for k, v in self.symbol_moves.items()})
        )
        for key, move in [*self.asset_class_moves.items(), *self.symbol_moves.items()]:
            if not (math.isfinite(move) and move > -1.0):
                raise ValueError(f"{self.name}: move for {key} must be a return above -100 %, got {move}")
        unknown = set(self.asset_class_moves) - {str(asset_class) for asset_class in AssetClass}
        if unknown:
            raise ValueError(f"{self.name}: unknown asset classes {sorted(unknown)}")

    def move_for(self, asset_class: AssetClass, symbol: str) -> float:
        return self.symbol_moves.get(symbol_key(symbol), self.asset_class_moves.get(str(asset_class), 0.0))

    def shocked_marks(self, positions: Sequence[BookPosition], marks: FloatArray) -> FloatArray:
        shocked = marks.copy()
        for index, position in enumerate(positions):
            if position.asset_class is AssetClass.PREDICTION and self.prediction_worst_case:
                shocked[index] = _worst_settlement(position)
            else:
                move = self.move_for(position.asset_class, position.symbol)
                shocked[index] = marks[index] * (1.0 + move)
                if position.asset_class is AssetClass.PREDICTION:
                    shocked[index] = min(max(shocked[index], 0.0), 1.0)
        return shocked

    def position_pnls(self, positions: Sequence[BookPosition], marks: FloatArray) -> FloatArray:
        return _price_pnls(positions, marks, self.shocked_marks(positions, marks))

    def shock_series(
        self, open_: FloatArray, close: FloatArray, at_index: int, asset_class: AssetClass, symbol: str
    ) -> ShockedSeries:
        """Every price from bar `at_index` on scaled by (1 + move): a gap between the bar before and it."""
        factor = np.ones_like(close)
        factor[at_index:] = 1.0 + self.move_for(asset_class, symbol)
        return ShockedSeries(open_=open_ * factor, close=close * factor)


def gap_down(fraction: float) -> PriceShock:
    """All risk assets (stocks, crypto) gap down by `fraction`; prediction contracts settle against us.

    Currency pairs are left out: a pair has no risk-off direction of its own (the CHF day and the
    volatility and correlation scenarios stress them).
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"gap down fraction must be in (0, 1), got {fraction}")
    return PriceShock(
        name=f"gap down {fraction:.0%}",
        description=f"stocks and crypto open {fraction:.0%} lower; prediction contracts at worst settlement",
        asset_class_moves={asset_class: -fraction for asset_class in _RISK_ASSETS},
        prediction_worst_case=True,
    )


# The named days. Index moves are close-to-close from the index provider's published daily closes
# unless marked intraday; "approx." marks figures read off charts or rounded from secondary sources.
HISTORICAL_SCENARIOS: tuple[PriceShock, ...] = (
    PriceShock(
        name="1987-10-19 Black Monday",
        description="S&P 500 -20.47 % in one session; no crypto, FX not shocked",
        # S&P 500 282.70 -> 224.84 (S&P Dow Jones Indices daily closes): -20.47 %.
        asset_class_moves={AssetClass.STOCK: -0.2047},
    ),
    PriceShock(
        name="2008-10-15 post-Lehman selloff",
        description="S&P 500 -9.03 %, the worst day of the 2008 crash after the rescue-plan rally",
        # S&P 500 998.01 -> 907.84 (S&P Dow Jones Indices daily closes): -9.03 %.
        asset_class_moves={AssetClass.STOCK: -0.0903},
    ),
    PriceShock(
        name="2010-05-06 flash crash",
        description="S&P 500 about -8.6 % at the intraday low before recovering to -3.2 % at the close",
        # Intraday, because a stop or a liquidation fills there: prior close 1,165.87, low 1,065.79
        # (-8.58 %, approx.; CFTC-SEC joint report on the events of May 6, 2010).
        asset_class_moves={AssetClass.STOCK: -0.086},
    ),
    PriceShock(
        name="2015-01-15 CHF de-peg",
        description="SNB drops the 1.20 EUR/CHF floor; franc up about 30 % intraday",
        # EUR/CHF 1.20 -> about 0.85 at the intraday low (-29 %, approx.); USD/CHF about 1.02 -> 0.74
        # (-27 %, approx.); from the SNB announcement day's interbank quotes as widely reported.
        symbol_moves={"EUR_CHF": -0.29, "USD_CHF": -0.27},
    ),
    PriceShock(
        name="2020-03-12 COVID Black Thursday",
        description="S&P 500 -9.51 %; bitcoin about -37 % in a day of crypto liquidations",
        # S&P 500 2,741.38 -> 2,480.64 (daily closes): -9.51 %. BTC about 7,911 -> 4,971 (CoinMarketCap
        # daily closes, approx.): -37 %.
        asset_class_moves={AssetClass.STOCK: -0.0951, AssetClass.CRYPTO: -0.37},
    ),
    PriceShock(
        name="2020-03-16 COVID crash",
        description="S&P 500 -11.98 %, its worst day since 1987",
        # S&P 500 2,711.02 -> 2,386.13 (S&P Dow Jones Indices daily closes): -11.98 %.
        asset_class_moves={AssetClass.STOCK: -0.1198},
    ),
    PriceShock(
        name="2022-11-08 FTX collapse",
        description="FTX halts withdrawals: bitcoin about -10 %, ether about -15 %, FTT about -75 %",
        # CoinMarketCap daily closes, approx.: BTC 20,600 -> 18,540; ETH 1,570 -> 1,335; FTT 22 -> 5.
        asset_class_moves={AssetClass.CRYPTO: -0.10},
        symbol_moves={"ETH_USD": -0.15, "FTT_USD": -0.75},
    ),
)


# --- synthetic scenarios -----------------------------------------------------------------------------------

# One-standard-deviation daily moves per asset class, approx.: S&P 500 ~19 % a year / √252 ≈ 1.2 %;
# bitcoin ~65 % a year / √365 ≈ 3.4 %; EUR/USD ~8 % a year / √260 ≈ 0.5 %. Prediction contracts settle on
# events, not on a diffusion, so they have none.
DAILY_MOVES: Mapping[str, float] = _frozen(
    {AssetClass.STOCK: 0.012, AssetClass.CRYPTO: 0.034, AssetClass.FOREX: 0.005}
)

# Half the quoted bid-ask spread as a fraction of the price, in normal markets, approx.: large-cap US
# stocks ~1 bp, major crypto pairs on Coinbase/Kraken ~2-5 bp, EUR/USD ~0.5 pip at 1.08 (~0.5 bp),
# Kalshi contracts ~1 cent wide around 50 cents (1 % of the price).
HALF_SPREADS: Mapping[str, float] = _frozen(
    {
        AssetClass.STOCK: 0.0001,
        AssetClass.CRYPTO: 0.0004,
        AssetClass.FOREX: 0.00005,
        AssetClass.PREDICTION: 0.01,
    }
)


@dataclass(frozen=True, slots=True, eq=False)
class VolatilitySpike:
    """Moves scaled by `multiplier`: on the book, every position moves `multiplier` daily standard
    deviations (`daily_moves`, per class) against its holder; on a series, the returns of the
    `duration_bars` bars from the shock bar on (measured in log price from the close before it) are
    scaled by `multiplier`, and the extra move they made stays in every later price, whose own
    returns are the original ones. `duration_bars` None: the spike never ends."""

    multiplier: float
    daily_moves: Mapping[str, float] = field(default_factory=lambda: DAILY_MOVES)
    duration_bars: int | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.multiplier) and self.multiplier > 0):
            raise ValueError(f"volatility multiplier must be positive, got {self.multiplier}")
        if self.duration_bars is not None and self.duration_bars < 1:
            raise ValueError(f"a volatility spike lasts at least one bar, got {self.duration_bars}")
        object.__setattr__(self, "daily_moves", _frozen(self.daily_moves))

    @property
    def name(self) -> str:
        return f"volatility x{self.multiplier:g}"

    def shocked_marks(self, positions: Sequence[BookPosition], marks: FloatArray) -> FloatArray:
        moves = np.array(
            [self.multiplier * self.daily_moves.get(str(p.asset_class), 0.0) for p in positions],
            dtype=np.float64,
        )
        against = -np.sign([p.quantity for p in positions])
        shocked: FloatArray = marks * np.maximum(1.0 + against * moves, 0.0)
        return shocked

    def position_pnls(self, positions: Sequence[BookPosition], marks: FloatArray) -> FloatArray:
        return _price_pnls(positions, marks, self.shocked_marks(positions, marks))

    def shock_series(
        self, open_: FloatArray, close: FloatArray, at_index: int, asset_class: AssetClass, symbol: str
    ) -> ShockedSeries:
        anchor = math.log(close[at_index - 1] if at_index > 0 else open_[0])
        end = len(close) if self.duration_bars is None else min(len(close), at_index + self.duration_bars)
        # the spike's extra log move by its last close, carried by every later price
        carried = (self.multiplier - 1.0) * (math.log(close[end - 1]) - anchor)

        def scaled(prices: FloatArray) -> FloatArray:
            result = prices.copy()  # bars before the shock keep their exact prices
            logs = np.log(prices[at_index:end]) - anchor
            result[at_index:end] = np.exp(anchor + self.multiplier * logs)
            result[end:] = prices[end:] * math.exp(carried)
            return result

        return ShockedSeries(open_=scaled(open_), close=scaled(close))


@dataclass(frozen=True, slots=True, eq=False)
class CorrelationToOne:
    """Diversification fails: every position moves by the single largest move any of them makes under
    `base`, all in the same direction (whichever loses the book more). Prediction contracts settle
    against their holders. On a one-instrument series it is `base` itself."""

    base: MarkShock

    @property
    def name(self) -> str:
        return f"correlation to one ({self.base.name})"

    def shocked_marks(self, positions: Sequence[BookPosition], marks: FloatArray) -> FloatArray:
        priced = np.array([p.asset_class is not AssetClass.PREDICTION for p in positions], dtype=bool)
        base_moves = np.zeros(len(positions), dtype=np.float64)
        moving = priced & (marks > 0)
        base_moves[moving] = self.base.shocked_marks(positions, marks)[moving] / marks[moving] - 1.0
        worst = float(np.abs(base_moves).max(initial=0.0))
        settled = np.array([_worst_settlement(p) for p in positions], dtype=np.float64)
        candidates = [np.where(priced, marks * (1.0 + sign * worst), settled) for sign in (-1.0, 1.0)]
        totals = [_price_pnls(positions, marks, shocked).sum() for shocked in candidates]
        chosen: FloatArray = candidates[int(np.argmin(totals))]
        return chosen

    def position_pnls(self, positions: Sequence[BookPosition], marks: FloatArray) -> FloatArray:
        return _price_pnls(positions, marks, self.shocked_marks(positions, marks))

    def shock_series(
        self, open_: FloatArray, close: FloatArray, at_index: int, asset_class: AssetClass, symbol: str
    ) -> ShockedSeries:
        return self.base.shock_series(open_, close, at_index, asset_class, symbol)


@dataclass(frozen=True, slots=True, eq=False)
class LiquidityDrought:
    """Prices hold but liquidity goes: spreads widen `spread_multiplier` times and exits slip a further
    `exit_slippage` (a fraction of the price). On the book, the loss is the cost of closing every position
    now: |quantity| × multiplier × mark × (k × half spread + slippage). On a series, every fill from the
    shock bar on pays that rate."""

    spread_multiplier: float
    exit_slippage: float
    half_spreads: Mapping[str, float] = field(default_factory=lambda: HALF_SPREADS)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.spread_multiplier) and self.spread_multiplier >= 1):
            raise ValueError(f"spread multiplier must be at least 1, got {self.spread_multiplier}")
        if not (math.isfinite(self.exit_slippage) and 0 <= self.exit_slippage < 1):
            raise ValueError(f"exit slippage must be a fraction in [0, 1), got {self.exit_slippage}")
        object.__setattr__(self, "half_spreads", _frozen(self.half_spreads))

    @property
    def name(self) -> str:
        return f"liquidity drought (spreads x{self.spread_multiplier:g}, exits slip {self.exit_slippage:.2%})"

    def exit_cost_rate(self, asset_class: AssetClass) -> float:
        return self.spread_multiplier * self.half_spreads.get(str(asset_class), 0.0) + self.exit_slippage

    def position_pnls(self, positions: Sequence[BookPosition], marks: FloatArray) -> FloatArray:
        rates = np.array([self.exit_cost_rate(p.asset_class) for p in positions], dtype=np.float64)
        size = np.array([abs(p.quantity) * p.multiplier for p in positions], dtype=np.float64)
        result: FloatArray = -(size * marks * rates)
        return result

    def shock_series(
        self, open_: FloatArray, close: FloatArray, at_index: int, asset_class: AssetClass, symbol: str
    ) -> ShockedSeries:
        extra = np.zeros_like(close)
        extra[at_index:] = self.exit_cost_rate(asset_class)
        return ShockedSeries(open_=open_, close=close, extra_slippage=extra)


def standard_scenarios(bars_per_day: int | None = None) -> list[Scenario]:
    """The named days, then a 10 % gap down, a 3x volatility day, correlation to one of a 5-sigma day,
    and a drought of 5x spreads with 0.5 % exit slippage. On a series, the volatility day lasts
    `bars_per_day` bars (None: to the end of the series)."""
    return [
        *HISTORICAL_SCENARIOS,
        gap_down(0.10),
        VolatilitySpike(3.0, duration_bars=bars_per_day),
        CorrelationToOne(VolatilitySpike(5.0)),
        LiquidityDrought(spread_multiplier=5.0, exit_slippage=0.005),
    ]


# --- a strategy's backtest under a shock -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class StressBacktest:
    """The same targets run on the original and on the shocked prices; equities agree before `at_index`."""

    scenario: str
    at_index: int
    baseline: VectorResult
    shocked: VectorResult


def stress_backtest(
    open_: npt.ArrayLike,
    close: npt.ArrayLike,
    targets: npt.ArrayLike,
    scenario: Scenario,
    at_index: int,
    *,
    asset_class: AssetClass,
    symbol: str,
    costs: Costs | None = None,
    initial_cash: float = 10_000.0,
    delay_bars: int = 0,
) -> StressBacktest:
    """Run `targets` through the engine on the prices as they were and with `scenario` injected at bar
    `at_index`. The targets are not recomputed from the shocked prices: the question is what the
    positions the strategy held would have suffered."""
    opens = np.asarray(open_, dtype=np.float64)
    closes = np.asarray(close, dtype=np.float64)
    if opens.ndim != 1 or opens.shape != closes.shape:
        raise ValueError(f"open_ and close must be 1-D and alike, got {opens.shape} and {closes.shape}")
    if not 0 <= at_index < closes.size:
        raise ValueError(f"at_index {at_index} outside the {closes.size} bars")
    chosen_costs = costs or Costs()
    baseline = run_targets(
        opens, closes, targets, costs=chosen_costs, initial_cash=initial_cash, delay_bars=delay_bars
    )
    shocked_series = scenario.shock_series(opens, closes, at_index, asset_class, symbol)
    extra = shocked_series.extra_slippage
    shocked = run_targets(
        shocked_series.open_,
        shocked_series.close,
        targets,
        costs=chosen_costs,
        slippage=None if extra is None else chosen_costs.slippage_rate + extra,
        initial_cash=initial_cash,
        delay_bars=delay_bars,
    )
    return StressBacktest(scenario=scenario.name, at_index=at_index, baseline=baseline, shocked=shocked)
