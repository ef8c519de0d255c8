"""The RiskEngine as a stage of the road: gathers the book, prices and correlations (the only
I/O of the risk package, through callables the wiring hands in), asks the pure engine, keeps
the intent."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from domain.fees import FeeSchedule, taker_fee_per_contract
from domain.instruments import AssetClass, Instrument
from domain.market import BarSeries, Quote
from domain.pipeline import SignalContext
from domain.positions import Position
from domain.signals import Decision, Signal, SignalIntent
from risk_management.correlation import log_returns, return_correlations
from risk_management.engine import STAGE, BookSnapshot, Exposure, RiskEngine, TailInputs
from risk_management.hrp import hrp_weights

BarsSource = Callable[[Instrument, int, int], Awaitable[BarSeries | None]]


@dataclass(frozen=True, slots=True)
class MarketHistory:
    """Where the correlation and CVaR limits get their bars, and over which window."""

    bars: BarsSource
    instruments: Mapping[str, Instrument]
    timeframe_seconds: int = 60
    window: int = 120
    horizon_seconds: int = 86_400  # the CVaR budget's horizon; bar returns scale by sqrt(time)
    hrp_allocation: bool = True  # cap an entry at its risk-parity share of the gross cap


class RiskStage:
    name = STAGE

    def __init__(
        self,
        engine: RiskEngine,
        book: Callable[[], BookSnapshot],
        quote: Callable[[Instrument], Awaitable[Quote | None]],
        position: Callable[[str, Instrument], Position | None],
        history: MarketHistory | None = None,
        fees: Mapping[str, FeeSchedule] | None = None,
        free_cash: Callable[[Signal], Awaitable[Decimal | None]] | None = None,
    ) -> None:
        self._engine = engine
        self._free_cash = free_cash  # the bot's account's free cash at its venue (None: unknown)
        self._book = book
        self._quote = quote
        self._position = position
        self._history = history
        self._fees = dict(fees or {})  # by venue: what a contract costs to trade there

    async def evaluate(self, signal: Signal, ctx: SignalContext) -> Decision:
        quote = await self._quote(signal.instrument)
        book = self._book()
        correlations: dict[str, float] = {}
        tail: TailInputs | None = None
        hrp_weight: float | None = None
        free_cash: Decimal | None = None
        if signal.intent is SignalIntent.OPEN and self._free_cash is not None:
            free_cash = await self._free_cash(signal)
        if signal.intent is SignalIntent.OPEN and self._history is not None:
            closes = await self._closes(signal.instrument, book)
            if closes is not None:
                own, held = closes
                correlations = _correlations(own, held, self._history.window)
                tail = _tail_inputs(own, held, book, self._history)
                if self._history.hrp_allocation:
                    hrp_weight = _candidate_hrp_weight(own, held)
        outcome = self._engine.assess(
            self._with_venue_fee(signal, quote),
            book=book,
            quote=quote,
            own_position=self._position(signal.bot, signal.instrument),
            now=ctx.now,
            size_multiplier=ctx.size_multiplier,
            correlations=correlations,
            tail=tail,
            hrp_weight=hrp_weight,
            free_cash=free_cash,
        )
        ctx.intent = outcome.intent
        return outcome.decision

    def _with_venue_fee(self, signal: Signal, quote: Quote | None) -> Signal:
        """A binary-payoff signal sized with its venue's real fee per contract at the touch.

        Kelly for a contract bought at p needs the cost per contract, p plus the fee; the
        venue's schedule (Kalshi's quadratic fee, Polymarket's rate) knows it better than a
        bot. The fee of 100 contracts, divided out, is the per-contract cost to 1/100 cent.
        """
        schedule = self._fees.get(signal.instrument.venue)
        evidence = signal.evidence
        if schedule is None or quote is None or "win_probability" not in evidence:
            return signal
        if "fee_per_contract" in evidence:
            return signal
        touch = quote.touch(signal.side)
        try:
            per_contract = taker_fee_per_contract(schedule, touch)
        except ValueError:
            return signal  # a price the schedule refuses; the engine's own checks reject the trade
        return replace(signal, evidence={**evidence, "fee_per_contract": float(per_contract)})

    async def _closes(
        self, candidate: Instrument, book: BookSnapshot
    ) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
        """The candidate's and each held market's last window+1 closes, all ending at one bar."""
        history = self._history
        assert history is not None
        count = history.window + 1
        own = await history.bars(candidate, history.timeframe_seconds, count)
        if own is None or len(own) < count:
            return None
        held: dict[str, np.ndarray] = {}
        for key in {e.instrument_key for e in book.open_exposures + book.pending_entries}:
            instrument = history.instruments.get(key)
            if instrument is None:
                continue
            series = await history.bars(instrument, history.timeframe_seconds, count)
            # only bars that end with the candidate's are comparable
            if series is not None and len(series) == count and series.times[-1] == own.times[-1]:
                held[key] = series.close
        return own.close, held


def _correlations(own: np.ndarray, held: Mapping[str, np.ndarray], window: int) -> dict[str, float]:
    if not held:
        return {}
    try:
        return return_correlations(own, held, window)
    except ValueError:
        return {}  # a bad price in the candidate's own window; the quote check decides the trade


def _tail_inputs(
    own: np.ndarray, held: Mapping[str, np.ndarray], book: BookSnapshot, history: MarketHistory
) -> TailInputs | None:
    """Scenarios: the last `window` bar returns of every market, scaled to the horizon.

    A prediction contract's outcome is its settlement, not a bar return: it is counted at its
    worst case (`worst_case_loss`) in every scenario. When another held market has no comparable
    bars the book's P&L cannot be known, so the CVaR limit is not applied (the other caps still
    are); the decision's details show `cvar_scale` 1.0.
    """
    scale = math.sqrt(history.horizon_seconds / history.timeframe_seconds)
    exposures, binary_loss = scenario_exposures(book.open_exposures + book.pending_entries)
    if any(key not in held for key in exposures):
        return None
    try:
        candidate = np.expm1(log_returns(own)) * scale
        book_pnl = np.full_like(candidate, -binary_loss)
        for key, notional in exposures.items():
            book_pnl += np.expm1(log_returns(held[key])) * scale * notional
    except ValueError:
        return None
    return TailInputs(book_pnl=book_pnl, candidate_returns=candidate)


def scenario_exposures(exposures: Iterable[Exposure]) -> tuple[dict[str, float], float]:
    """What the tail-risk scenarios apply to: each market's signed notional (USD), and the worst
    case of the prediction contracts, which have no bar returns and are lost in every scenario."""
    notional: dict[str, float] = {}
    binary_loss = 0.0
    for e in exposures:
        if e.asset_class == AssetClass.PREDICTION.value:
            binary_loss += worst_case_loss(e)
            continue
        notional[e.instrument_key] = notional.get(e.instrument_key, 0.0) + float(e.signed_notional)
    return notional, binary_loss


def worst_case_loss(exposure: Exposure) -> float:
    """What a prediction position loses if it settles against its holder: a YES contract held
    (bought at p) loses p, a NO (a short YES, paid 1 - p) loses 1 - p, per contract."""
    quantity, price = float(exposure.signed_quantity), float(exposure.mark_price)
    return quantity * price if quantity > 0 else -quantity * (1.0 - price)


def _candidate_hrp_weight(own: np.ndarray, held: Mapping[str, np.ndarray]) -> float | None:
    """The candidate's HRP weight among the held markets (with comparable bars) and itself."""
    if not held:
        return None
    try:
        columns = [log_returns(closes) for closes in held.values()] + [log_returns(own)]
        return float(hrp_weights(np.column_stack(columns))[-1])
    except ValueError:
        return None  # a flat or bad series: no allocation evidence, the other caps still apply
