"""The risk engine's invariants, proved over random streams of signals, prices and fills.

A small pure harness plays the orchestrator's part: for each signal it snapshots the book,
asks the engine, fills an accepted order at the quote and applies the fill to the book, and
switches to REDUCING when the daily loss limit is breached. After every step the invariants
of the issue must hold, whatever hypothesis throws at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.instruments import AssetClass, Instrument
from domain.market import Quote
from domain.orders import Fill
from domain.signals import Side, SignalIntent
from domain.trading_state import TradingState
from risk_management.book import Book
from risk_management.engine import BookSnapshot, RiskEngine, RiskLimits
from risk_management.underlying import contradicts
from tests.factories import T0, crypto, signal, stock

INSTRUMENTS = (
    stock("SPY"),
    stock("QQQ"),
    crypto("BTC/USD"),
    crypto("ETH/USD"),
    Instrument("EUR_USD", "sim-fx", AssetClass.FOREX, Decimal("0.00001"), Decimal(1), "EUR_USD"),
    Instrument("EUR/USD", "other-fx", AssetClass.FOREX, Decimal("0.00001"), Decimal(1), "EUR/USD"),
)
START_PRICES = {
    "SPY": 500.0,
    "QQQ": 430.0,
    "BTC/USD": 60_000.0,
    "ETH/USD": 3_000.0,
    "EUR_USD": 1.08,
    "EUR/USD": 1.08,
}
BOTS = ("a", "b", "c")
STARTING_CAPITAL = Decimal(30_000)
LIMITS = RiskLimits(
    daily_loss_limit_usd=Decimal(30),
    max_concurrent_positions=4,
    gross_exposure_cap_fraction=Decimal("0.8"),
    reentry_cooldown=timedelta(0),
    risk_fraction_per_trade=0.002,
    max_position_fraction=Decimal("0.3"),
    max_order_notional_usd=Decimal(25_000),
    max_quote_age_seconds={"stock": 15.0, "crypto": 10.0, "forex": 10.0},
    max_bot_exposure_fraction=Decimal("0.5"),
)


@dataclass
class Harness:
    book: Book = field(default_factory=lambda: Book(STARTING_CAPITAL, {i.key: i for i in INSTRUMENTS}))
    prices: dict[str, float] = field(default_factory=lambda: dict(START_PRICES))
    state: TradingState = TradingState.ACTIVE
    halted_at_step: int | None = None
    open_at_halt: frozenset[tuple[str, str]] = frozenset()
    trades: int = 0

    def marks(self) -> dict[str, Decimal]:
        return {i.key: i.round_price(Decimal(str(self.prices[i.symbol]))) for i in INSTRUMENTS}

    def snapshot(self) -> BookSnapshot:
        marks = self.marks()
        return BookSnapshot(
            equity=self.book.equity(marks).equity,
            day_start_equity=STARTING_CAPITAL,
            trading_state=self.state,
            trading_reason="daily loss" if self.state is not TradingState.ACTIVE else None,
            open_exposures=self.book.exposures(marks),
        )

    def quote(self, instrument: Instrument) -> Quote:
        mid = Decimal(str(self.prices[instrument.symbol]))
        half = max(instrument.tick_size, instrument.round_price(mid * Decimal("0.0001")))
        return Quote(
            instrument.key, instrument.round_price(mid - half), instrument.round_price(mid + half), T0, "t"
        )


STEP = st.one_of(
    st.tuples(st.just("move"), st.sampled_from(INSTRUMENTS), st.floats(-0.03, 0.03)),
    st.tuples(
        st.just("signal"),
        st.sampled_from(INSTRUMENTS),
        st.sampled_from(BOTS),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.sampled_from([SignalIntent.OPEN, SignalIntent.OPEN, SignalIntent.CLOSE]),
        st.floats(0.002, 0.05),
    ),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEP, min_size=1, max_size=80))
def test_limits_hold_for_any_stream_of_signals_prices_and_fills(steps: list[tuple[object, ...]]) -> None:
    harness = Harness()
    engine = RiskEngine(LIMITS)
    for number, step in enumerate(steps):
        if step[0] == "move":
            _, instrument, change = step
            assert isinstance(instrument, Instrument) and isinstance(change, float)
            harness.prices[instrument.symbol] *= 1 + change
        else:
            _, instrument, bot, side, intent, stop_distance = step
            assert (
                isinstance(instrument, Instrument)
                and isinstance(bot, str)
                and isinstance(stop_distance, float)
            )
            assert isinstance(side, Side) and isinstance(intent, SignalIntent)
            play_signal(harness, engine, number, instrument, bot, side, intent, stop_distance)
        breakdown = harness.book.equity(harness.marks())
        if (
            breakdown.equity - STARTING_CAPITAL <= -LIMITS.daily_loss_limit_usd
            and harness.state is TradingState.ACTIVE
        ):
            harness.state = TradingState.REDUCING
            harness.halted_at_step = number
            harness.open_at_halt = frozenset((p.bot, p.instrument_key) for p in harness.book.open_positions())
        check_invariants(harness)


def play_signal(
    harness: Harness,
    engine: RiskEngine,
    number: int,
    instrument: Instrument,
    bot: str,
    side: Side,
    intent: SignalIntent,
    stop_distance: float,
) -> None:
    price = harness.prices[instrument.symbol]
    stop = price * (1 - stop_distance) if side is Side.BUY else price * (1 + stop_distance)
    before = harness.snapshot()
    quote = harness.quote(instrument)
    outcome = engine.assess(
        signal(
            instrument,
            side,
            intent,
            bot=bot,
            stop=stop if intent is SignalIntent.OPEN else None,
            sequence=number,
        ),
        book=before,
        quote=quote,
        own_position=harness.book.position(bot, instrument.key),
        now=T0,
    )
    order = outcome.intent
    if order is None:
        return
    if not order.reduce_only:
        # no new entry while halted or reducing
        assert before.trading_state is TradingState.ACTIVE, outcome.decision.message
    fill_price = quote.ask if order.side is Side.BUY else quote.bid
    harness.book.apply_fill(
        bot,
        Fill(
            order.client_order_id,
            instrument.venue,
            f"t-{number}",
            instrument.key,
            order.side,
            order.quantity,
            fill_price,
            Decimal(0),
            T0,
        ),
    )
    harness.trades += 1
    if not order.reduce_only:
        after = harness.snapshot()
        # gross exposure never exceeds the cap by more than one lot's rounding (at the moment of entry)
        slack = instrument.lot_size * fill_price + Decimal("0.01")
        assert after.gross_exposure <= before.equity * LIMITS.gross_exposure_cap_fraction + slack


def check_invariants(harness: Harness) -> None:
    if harness.halted_at_step is not None:
        # after the halt only the positions open when it fired may move the day's P&L, so the loss
        # beyond the limit is at most theirs
        open_now = {(p.bot, p.instrument_key) for p in harness.book.open_positions()}
        assert open_now <= harness.open_at_halt, open_now - harness.open_at_halt
    exposures = harness.book.exposures(harness.marks())
    assert len(exposures) <= LIMITS.max_concurrent_positions
    stances = [(e.bot, e.instrument_key, e.stance) for e in exposures if e.stance is not None]
    for i, (bot_a, key_a, a) in enumerate(stances):
        for bot_b, key_b, b in stances[i + 1 :]:
            assert not contradicts(a, b), f"{bot_a} {key_a} contradicts {bot_b} {key_b}"
