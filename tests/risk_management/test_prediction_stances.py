"""The contradictory-position blocker on prediction markets, through `RiskEngine.assess`.

Another bot holds a position (an open exposure whose stance is `stance_of` its instrument and
side, as the book builds it); the candidate is a prediction-market entry that passes every
other limit (ask 0.25 under the 0.30 cap, win probability 0.45). Kalshi instruments are the
YES contract: BUY holds YES, SELL holds NO. Their contracts come from the market's own strike
fields (`parse_kalshi_ticker` with the Strike a `GET /markets` answer would carry).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from domain.contract_parsing import parse_kalshi_ticker, parse_polymarket_market
from domain.contracts import ContractSpec, Strike, StrikeType
from domain.instruments import AssetClass, Instrument
from domain.signals import ReasonCode, Side
from domain.trading_state import TradingState
from risk_management.engine import BookSnapshot, Exposure, RiskEngine, RiskLimits, stance_of
from risk_management.underlying import contradicts
from tests.factories import T0, quote, signal

LIMITS = RiskLimits(
    daily_loss_limit_usd=Decimal(30),
    max_concurrent_positions=3,
    gross_exposure_cap_fraction=Decimal("0.8"),
    reentry_cooldown=timedelta(minutes=30),
    risk_fraction_per_trade=0.005,
    max_position_fraction=Decimal("0.5"),
    max_order_notional_usd=Decimal(25_000),
    max_quote_age_seconds={"prediction": 60.0},
)
D = Decimal
CONDITION = "0x" + "3f" * 32
YES_TOKEN, NO_TOKEN = (
    "71321045679252212594626385532706912750332728571942532289631379312455583992563",
    ("52114319501245915516055106046884209969926127482827954674443846427813813222426"),
)


def kalshi(ticker: str, strike: Strike | None, *, with_contract: bool = True) -> Instrument:
    return Instrument(
        symbol=ticker,
        venue="kalshi",
        asset_class=AssetClass.PREDICTION,
        tick_size=D("0.01"),
        lot_size=D(1),
        underlying=ticker.rsplit("-", 1)[0],
        min_quantity=D(1),
        contract=parse_kalshi_ticker("kalshi", ticker, strike) if with_contract else None,
    )


def above(ticker: str, floor: str, **kwargs: bool) -> Instrument:
    return kalshi(ticker, Strike(StrikeType.GREATER, floor_strike=D(floor)), **kwargs)


def bracket(ticker: str, floor: int, cap: int) -> Instrument:
    return kalshi(ticker, Strike(StrikeType.BETWEEN, floor_strike=D(floor), cap_strike=D(cap)))


def polymarket_token(token: str) -> Instrument:
    """One outcome token of a two-outcome Gamma market, its contract read as the adapter reads it."""
    market = {
        "id": "516710",
        "question": "Will the Fed cut interest rates in March 2026?",
        "conditionId": CONDITION,
        "outcomes": json.dumps(["Yes", "No"]),
        "clobTokenIds": json.dumps([YES_TOKEN, NO_TOKEN]),
    }
    specs = {spec.ticker: spec for spec in parse_polymarket_market("polymarket", market)}
    symbol = f"{CONDITION}:{token}"
    return Instrument(
        symbol=symbol,
        venue="polymarket",
        asset_class=AssetClass.PREDICTION,
        tick_size=D("0.01"),
        lot_size=D("0.01"),
        underlying=CONDITION,
        min_quantity=D(5),
        contract=specs[symbol],
    )


def held_by_another_bot(instrument: Instrument, side: Side) -> BookSnapshot:
    quantity = D(10) if side is Side.BUY else D(-10)
    held = Exposure(
        "other-bot",
        instrument.key,
        instrument.underlying,
        instrument.asset_class.value,
        quantity,
        D("0.60"),
        stance_of(instrument, side),
    )
    return BookSnapshot(
        equity=D(10_000),
        day_start_equity=D(10_000),
        trading_state=TradingState.ACTIVE,
        trading_reason=None,
        open_exposures=(held,),
    )


def entry(candidate: Instrument, side: Side, book: BookSnapshot) -> ReasonCode:
    outcome = RiskEngine(LIMITS).assess(
        signal(candidate, side, stop=None, evidence={"win_probability": 0.45}),
        book=book,
        quote=quote(candidate, bid="0.24", ask="0.25"),
        own_position=None,
        now=T0,
    )
    return outcome.decision.reason_code


def test_yes_above_40_5_against_no_above_38_5_held_is_a_contradictory_position() -> None:
    # NO "above 38.5" bets the high stays at or below 38.5; YES "above 40.5" bets it goes above
    # 40.5: two opposite views of one number (underlying.py, rule 1).
    no_above_38 = held_by_another_bot(above("KXHIGHCHI-26FEB09-T38.5", "38.5"), Side.SELL)
    candidate = above("KXHIGHCHI-26FEB09-T40.5", "40.5")
    assert entry(candidate, Side.BUY, no_above_38) is ReasonCode.CONTRADICTORY_POSITION


def test_yes_on_two_disjoint_brackets_do_not_contradict_and_the_entry_passes() -> None:
    # Brackets have no direction, and YES on [38, 39] and YES on [40, 41] both lose at 45°: no
    # outcome pays both, so no dollar is locked in and nothing cancels; together they are one
    # wider bet (underlying.py, rule 2). `contradicts` says so, and the engine agrees.
    held, candidate = bracket("KXHIGHCHI-26FEB09-B38.5", 38, 39), bracket("KXHIGHCHI-26FEB09-B40.5", 40, 41)
    held_stance, candidate_stance = stance_of(held, Side.BUY), stance_of(candidate, Side.BUY)
    assert held_stance is not None and candidate_stance is not None
    assert contradicts(held_stance, candidate_stance) is False
    assert entry(candidate, Side.BUY, held_by_another_bot(held, Side.BUY)) is ReasonCode.OK


def test_no_on_a_bracket_against_yes_on_it_held_is_a_contradictory_position() -> None:
    # YES and NO of one bracket together pay $1 in every outcome: stake cancelling stake (rule 2).
    b38 = bracket("KXHIGHCHI-26FEB09-B38.5", 38, 39)
    assert entry(b38, Side.SELL, held_by_another_bot(b38, Side.BUY)) is ReasonCode.CONTRADICTORY_POSITION


def test_the_same_strikes_on_another_day_are_another_event_and_not_refused() -> None:
    no_above_38_monday = held_by_another_bot(above("KXHIGHCHI-26FEB09-T38.5", "38.5"), Side.SELL)
    yes_above_40_tuesday = above("KXHIGHCHI-26FEB10-T40.5", "40.5")
    assert entry(yes_above_40_tuesday, Side.BUY, no_above_38_monday) is ReasonCode.OK


def test_instruments_without_a_contract_have_no_stance_and_are_not_compared() -> None:
    held = above("KXHIGHCHI-26FEB09-T38.5", "38.5", with_contract=False)
    candidate = above("KXHIGHCHI-26FEB09-T40.5", "40.5", with_contract=False)
    assert stance_of(held, Side.SELL) is None and stance_of(candidate, Side.BUY) is None
    assert entry(candidate, Side.BUY, held_by_another_bot(held, Side.SELL)) is ReasonCode.OK


def test_fed_decision_markets_take_their_stance_from_the_decision_without_a_strike() -> None:
    hike = kalshi("KXFEDDECISION-26MAR-H25", None)
    cut = kalshi("KXFEDDECISION-26MAR-C25", None)
    assert hike.contract is not None and hike.contract.strike is None
    assert entry(cut, Side.BUY, held_by_another_bot(hike, Side.BUY)) is ReasonCode.CONTRADICTORY_POSITION


def test_polymarket_no_token_against_the_yes_token_held_is_a_contradictory_position() -> None:
    # The symbols carry token ids, so the outcome held comes from the contract ("Yes" / "No").
    yes, no = polymarket_token(YES_TOKEN), polymarket_token(NO_TOKEN)
    assert entry(no, Side.BUY, held_by_another_bot(yes, Side.BUY)) is ReasonCode.CONTRADICTORY_POSITION
    assert entry(yes, Side.BUY, held_by_another_bot(yes, Side.BUY)) is ReasonCode.OK


def test_a_contract_contradicting_its_ticker_has_no_stance_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Built by hand: the parsers would refuse a T41.5 market whose floor_strike is 42.
    ticker = "KXHIGHCHI-26FEB11-T41.5"
    good = parse_kalshi_ticker("kalshi", ticker, Strike(StrikeType.GREATER, floor_strike=D("41.5")))
    mismatched: ContractSpec = replace(good, strike=Strike(StrikeType.GREATER, floor_strike=D(42)))
    instrument = replace(above(ticker, "41.5"), contract=mismatched)
    with caplog.at_level(logging.WARNING, logger="risk_management.engine"):
        assert stance_of(instrument, Side.BUY) is None
        assert stance_of(instrument, Side.SELL) is None
    warnings = [r for r in caplog.records if ticker in r.getMessage()]
    assert len(warnings) == 1 and "floor_strike 42" in warnings[0].getMessage()
    candidate = above("KXHIGHCHI-26FEB11-T40.5", "40.5")
    assert entry(candidate, Side.BUY, held_by_another_bot(instrument, Side.SELL)) is ReasonCode.OK
