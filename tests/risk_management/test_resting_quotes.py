"""Resting quotes in the risk engine: a limit order at the quote's price, sized there, never taking,
and a maker's bid and offer on one market not refused as contradicting each other.

Market: New York's 40-41 °F bracket on a Polymarket-like venue, book 0.350/0.370. Limits: 0.5 %
of 10,000 at risk a trade (50 USD).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from domain.orders import OrderType, TimeInForce
from domain.positions import Position
from domain.signals import ReasonCode, Side, SignalIntent
from risk_management.engine import BookSnapshot, Exposure, RiskEngine, RiskLimits, stance_of
from tests.bots.test_cross_venue_arbitrage_bot import NY_TWIN
from tests.factories import T0, quote, signal
from tests.risk_management.test_risk_engine import book

D = Decimal
LIMITS = RiskLimits(
    daily_loss_limit_usd=D(30),
    max_concurrent_positions=5,
    gross_exposure_cap_fraction=D("0.8"),
    reentry_cooldown=timedelta(minutes=30),
    risk_fraction_per_trade=0.005,
    max_position_fraction=D("0.5"),
    max_order_notional_usd=D(25_000),
    max_quote_age_seconds={"prediction": 60.0},
    prediction_max_entry_price=D("0.95"),
)
BOOK = quote(NY_TWIN, bid="0.350", ask="0.370")


def quoted(side: Side, price: str, *, max_quantity: str | None = "10", win: float = 0.38):  # type: ignore[no-untyped-def]
    worth = win if side is Side.BUY else 1 - win
    return replace(
        signal(NY_TWIN, side, stop=None, evidence={"win_probability": worth, "fee_per_contract": 0.0}),
        limit_price=D(price),
        max_quantity=None if max_quantity is None else D(max_quantity),
    )


def assess(candidate, snapshot: BookSnapshot | None = None, position: Position | None = None):  # type: ignore[no-untyped-def]
    return RiskEngine(LIMITS).assess(
        candidate, book=snapshot or book(), quote=BOOK, own_position=position, now=T0
    )


def test_a_bid_rests_as_a_good_till_canceled_limit_at_its_price_capped_at_its_size() -> None:
    outcome = assess(quoted(Side.BUY, "0.360"))
    intent = outcome.intent
    assert intent is not None
    assert (intent.order_type, intent.time_in_force, intent.limit_price) == (
        OrderType.LIMIT,
        TimeInForce.GTC,
        D("0.360"),
    )
    # 50 USD at risk over 0.36 a contract would be 138; quarter-Kelly at 0.38 against 0.36 is
    # 0.25 x (0.38 - 0.36) / 0.64 = 0.78 % of equity, 78 USD, 217 contracts; the quote's 10 binds
    assert intent.quantity == D(10)
    assert outcome.decision.details["entry_estimate"] == "0.360"


def test_without_a_size_cap_the_quote_is_sized_at_its_own_price_not_the_touch() -> None:
    # the risk budget at the limit: 50 / 0.36 = 138.9 -> 138 (at the 0.370 ask it would be 135)
    outcome = assess(quoted(Side.BUY, "0.360", max_quantity=None, win=0.60))
    assert outcome.intent is not None and outcome.intent.quantity == D(138)


def test_a_bid_at_the_ask_or_an_offer_at_the_bid_would_take_and_is_refused() -> None:
    bid = assess(quoted(Side.BUY, "0.370"))
    offer = assess(quoted(Side.SELL, "0.350"))
    for outcome in (bid, offer):
        assert outcome.intent is None and outcome.decision.reason_code is ReasonCode.LIMIT_WOULD_TAKE


def resting(side: Side, bot: str = "bot-a") -> Exposure:
    return Exposure(
        bot,
        NY_TWIN.key,
        NY_TWIN.underlying,
        "prediction",
        D(10) * side.sign,
        D("0.36"),
        stance_of(NY_TWIN, side),
        resting=True,
    )


def test_a_makers_offer_beside_its_own_resting_bid_is_one_quote_not_a_contradiction() -> None:
    with_bid = book(pending_entries=(resting(Side.BUY),))
    outcome = assess(quoted(Side.SELL, "0.400"), with_bid)
    assert outcome.intent is not None and outcome.intent.side is Side.SELL


def test_another_bots_resting_bid_still_contradicts_an_offer() -> None:
    outcome = assess(quoted(Side.SELL, "0.400"), book(pending_entries=(resting(Side.BUY, bot="other"),)))
    assert outcome.decision.reason_code is ReasonCode.CONTRADICTORY_POSITION


def test_an_immediate_sell_beside_the_bots_own_resting_bid_is_still_a_contradiction() -> None:
    # only a quote beside a quote is exempt: a taking order is a view of its own
    immediate = replace(quoted(Side.SELL, "0.400"), limit_price=None)
    outcome = assess(immediate, book(pending_entries=(resting(Side.BUY),)))
    assert outcome.decision.reason_code is ReasonCode.CONTRADICTORY_POSITION


def test_a_resting_close_is_a_reduce_only_limit_of_what_it_closes() -> None:
    held = Position("bot-a", NY_TWIN.key, D(6), D("0.36"), opened_at=T0)
    close = replace(
        signal(NY_TWIN, Side.SELL, SignalIntent.CLOSE, stop=None, close_quantity=D(6)),
        limit_price=D("0.394"),
    )
    outcome = assess(close, position=held)
    intent = outcome.intent
    assert intent is not None and intent.reduce_only
    assert (intent.order_type, intent.limit_price, intent.quantity) == (OrderType.LIMIT, D("0.394"), D(6))
