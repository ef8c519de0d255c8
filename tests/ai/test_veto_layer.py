"""The rules veto: each rule at its boundary, and the stage that runs them all."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ai.veto_layer import (
    CONTRADICTING_NEWS,
    DUPLICATE_SIGNAL,
    EVENT_WINDOW,
    MARKET_CLOSING,
    STALE_EVIDENCE,
    RulesVeto,
    ScheduledEvent,
    VetoSettings,
    event_window,
    market_closing,
    stale_evidence,
    us_stock_session,
)
from domain.instruments import Instrument
from domain.pipeline import SignalContext
from domain.signals import Decision, ReasonCode, Side, Signal, SignalIntent
from tests.factories import crypto, signal, stock

MIDDAY = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # Monday 12:00 New York (EST)
CLOSE_EST = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)  # Monday 16:00 New York (EST)
SATURDAY = datetime(2026, 3, 7, 17, 0, tzinfo=UTC)


class FixedNews:
    def __init__(self, reading: tuple[float, int] | None) -> None:
        self.reading = reading

    async def sentiment(self, instrument: Instrument) -> tuple[float, int] | None:
        return self.reading


def evaluate(stage: RulesVeto, sig: Signal, now: datetime) -> Decision:
    return asyncio.run(stage.evaluate(sig, SignalContext(now=now)))


def veto(decision: Decision) -> dict[str, Any]:
    details: dict[str, Any] = decision.details["veto"]
    return details


def fired_rules(decision: Decision) -> list[str]:
    return [reason["rule"] for reason in veto(decision)["fired"]]


# stale evidence


def test_evidence_181_seconds_old_is_stale_and_named() -> None:
    sig = signal(time=MIDDAY, evidence={"as_of": MIDDAY - timedelta(seconds=181)})

    reason = stale_evidence(sig, MIDDAY, VetoSettings())

    assert reason is not None
    assert "'as_of' is 181 s old" in reason.message
    assert reason.details["stale_seconds"] == {"as_of": 181.0}


def test_evidence_179_seconds_old_is_fresh() -> None:
    sig = signal(time=MIDDAY, evidence={"as_of": MIDDAY - timedelta(seconds=179)})

    assert stale_evidence(sig, MIDDAY, VetoSettings()) is None


def test_one_stale_timestamp_among_fresh_ones_vetoes() -> None:
    evidence: dict[str, object] = {
        "quote_at": (MIDDAY - timedelta(seconds=5)).isoformat(),
        "bars_as_of": "2026-03-02T16:56:59Z",  # 181 s before MIDDAY
    }

    reason = stale_evidence(signal(time=MIDDAY, evidence=evidence), MIDDAY, VetoSettings())

    assert reason is not None
    assert list(reason.details["stale_seconds"]) == ["bars_as_of"]


def test_signal_time_itself_is_evidence() -> None:
    reason = stale_evidence(signal(time=MIDDAY - timedelta(seconds=181)), MIDDAY, VetoSettings())

    assert reason is not None
    assert "'signal time' is 181 s old" in reason.message


def test_keys_not_naming_a_time_are_ignored() -> None:
    sig = signal(time=MIDDAY, evidence={"atr": 1.5, "note": "2020-01-01T00:00:00+00:00"})

    assert stale_evidence(sig, MIDDAY, VetoSettings()) is None


@pytest.mark.parametrize("bad", ["yesterday", "2026-03-02T16:59:00", 1772470740, None])
def test_malformed_evidence_timestamp_vetoes(bad: object) -> None:
    reason = stale_evidence(signal(time=MIDDAY, evidence={"as_of": bad}), MIDDAY, VetoSettings())

    assert reason is not None
    assert reason.rule == STALE_EVIDENCE
    assert reason.message.startswith("evidence timestamp 'as_of' is not a time: ")
    assert "as_of" in reason.details["malformed"]


# market closing


def test_stock_entry_9_minutes_before_the_close_is_vetoed() -> None:
    reason = market_closing(signal(stock()), CLOSE_EST - timedelta(minutes=9), VetoSettings())

    assert reason is not None
    assert "closes in 9.0 min" in reason.message


def test_stock_entry_11_minutes_before_the_close_passes() -> None:
    assert market_closing(signal(stock()), CLOSE_EST - timedelta(minutes=11), VetoSettings()) is None


def test_stock_entry_on_a_saturday_is_vetoed_as_closed() -> None:
    reason = market_closing(signal(stock()), SATURDAY, VetoSettings())

    assert reason is not None
    assert reason.details == {"closed": True}


def test_a_stock_on_a_sessionless_venue_never_closes() -> None:
    """The simulated world's stocks trade around the clock; only real venues keep exchange hours."""
    simulated = stock()
    settings = VetoSettings(sessionless_venues=frozenset({simulated.venue}))
    assert market_closing(signal(simulated), SATURDAY, settings) is None
    assert market_closing(signal(stock(venue="alpaca-us")), SATURDAY, settings) is not None


def test_crypto_has_no_session_and_never_closes() -> None:
    assert market_closing(signal(crypto()), SATURDAY, VetoSettings()) is None


def test_stock_session_closes_at_16_new_york_across_the_march_dst_change() -> None:
    session = us_stock_session()
    before_change = datetime(2026, 3, 4, 20, 51, tzinfo=UTC)  # 15:51 EST (UTC-5)
    after_change = datetime(2026, 3, 11, 19, 51, tzinfo=UTC)  # 15:51 EDT (UTC-4), DST began March 8

    assert session.minutes_to_close(before_change) == pytest.approx(9.0)
    assert session.minutes_to_close(after_change) == pytest.approx(9.0)
    assert session.minutes_to_close(datetime(2026, 3, 11, 20, 5, tzinfo=UTC)) is None  # 16:05 EDT
    assert session.minutes_to_close(datetime(2026, 3, 11, 13, 35, tzinfo=UTC)) == pytest.approx(385.0)


# event window


def cpi(at: datetime, **scope: frozenset[str]) -> VetoSettings:
    return VetoSettings(events=(ScheduledEvent("CPI", at, **scope),))


def test_event_29_minutes_away_vetoes() -> None:
    reason = event_window(signal(), MIDDAY, cpi(MIDDAY + timedelta(minutes=29)))

    assert reason is not None
    assert reason.message.startswith("CPI in 29 min")


def test_event_31_minutes_away_passes() -> None:
    assert event_window(signal(), MIDDAY, cpi(MIDDAY + timedelta(minutes=31))) is None


def test_event_29_minutes_ago_still_vetoes() -> None:
    reason = event_window(signal(), MIDDAY, cpi(MIDDAY - timedelta(minutes=29)))

    assert reason is not None
    assert "CPI 29 min ago" in reason.message


def test_event_for_another_asset_class_or_symbol_does_not_apply() -> None:
    soon = MIDDAY + timedelta(minutes=5)

    assert event_window(signal(stock()), MIDDAY, cpi(soon, asset_classes=frozenset({"forex"}))) is None
    assert event_window(signal(stock("SPY")), MIDDAY, cpi(soon, symbols=frozenset({"QQQ"}))) is None
    assert event_window(signal(stock("SPY")), MIDDAY, cpi(soon, symbols=frozenset({"SPY"}))) is not None


# contradicting news


def test_strongly_negative_news_vetoes_a_buy() -> None:
    stage = RulesVeto(VetoSettings(), news=FixedNews((-0.7, 5)))

    decision = evaluate(stage, signal(side=Side.BUY, time=MIDDAY), MIDDAY)

    assert fired_rules(decision) == [CONTRADICTING_NEWS]
    assert veto(decision)["news"] == "-0.70 over 5 items"


def test_positive_news_at_the_threshold_vetoes_a_sell() -> None:
    stage = RulesVeto(VetoSettings(), news=FixedNews((0.6, 3)))

    decision = evaluate(stage, signal(side=Side.SELL, time=MIDDAY), MIDDAY)

    assert fired_rules(decision) == [CONTRADICTING_NEWS]


@pytest.mark.parametrize(
    ("side", "reading"),
    [(Side.BUY, (-0.7, 2)), (Side.BUY, (-0.59, 10)), (Side.SELL, (-0.9, 10)), (Side.BUY, None)],
)
def test_weak_thin_agreeing_or_missing_news_does_not_veto(
    side: Side, reading: tuple[float, int] | None
) -> None:
    stage = RulesVeto(VetoSettings(), news=FixedNews(reading))

    decision = evaluate(stage, signal(side=side, time=MIDDAY), MIDDAY)

    assert decision.passed
    assert decision.message == "no veto rule fired (5 checked)"


def test_without_a_news_view_the_rule_is_skipped_and_said_so() -> None:
    decision = evaluate(RulesVeto(VetoSettings()), signal(time=MIDDAY), MIDDAY)

    assert decision.passed
    assert veto(decision)["news"] == "not available"
    assert CONTRADICTING_NEWS not in veto(decision)["rules_checked"]


# duplicates


def test_same_bot_instrument_and_side_within_the_window_is_a_duplicate() -> None:
    stage = RulesVeto(VetoSettings())
    first = MIDDAY - timedelta(seconds=59)
    assert evaluate(stage, signal(time=first, sequence=0), first).passed

    decision = evaluate(stage, signal(time=MIDDAY, sequence=1), MIDDAY)

    assert fired_rules(decision) == [DUPLICATE_SIGNAL]
    assert decision.reason_code is ReasonCode.VETOED


def test_same_entry_outside_the_window_is_not_a_duplicate() -> None:
    stage = RulesVeto(VetoSettings())
    first = MIDDAY - timedelta(seconds=61)
    assert evaluate(stage, signal(time=first, sequence=0), first).passed

    assert evaluate(stage, signal(time=MIDDAY, sequence=1), MIDDAY).passed


def test_other_side_or_other_bot_is_not_a_duplicate() -> None:
    stage = RulesVeto(VetoSettings())
    assert evaluate(stage, signal(time=MIDDAY, side=Side.BUY), MIDDAY).passed

    assert evaluate(stage, signal(time=MIDDAY, side=Side.SELL, sequence=1), MIDDAY).passed
    assert evaluate(stage, signal(time=MIDDAY, bot="bot-b"), MIDDAY).passed


def test_a_vetoed_entry_does_not_count_as_passed() -> None:
    stage = RulesVeto(VetoSettings())
    stale = signal(time=MIDDAY, evidence={"as_of": MIDDAY - timedelta(hours=1)})
    assert not evaluate(stage, stale, MIDDAY).passed

    assert evaluate(stage, signal(time=MIDDAY, sequence=1), MIDDAY).passed


def test_the_same_signal_id_seen_again_is_a_duplicate_even_outside_the_window() -> None:
    stage = RulesVeto(VetoSettings(duplicate_window_seconds=0.0))
    sig = signal(time=MIDDAY)
    assert evaluate(stage, sig, MIDDAY).passed

    decision = evaluate(stage, sig, MIDDAY + timedelta(seconds=30))

    assert fired_rules(decision) == [DUPLICATE_SIGNAL]
    assert "was seen before" in decision.message


# the stage


def test_exits_are_never_vetoed() -> None:
    stage = RulesVeto(VetoSettings())
    exit_signal = signal(intent=SignalIntent.CLOSE, time=SATURDAY - timedelta(hours=1))

    decision = evaluate(stage, exit_signal, SATURDAY)

    assert decision.passed
    assert decision.message == "exits are never vetoed"


def test_every_fired_rule_is_reported_not_only_the_first() -> None:
    settings = VetoSettings(events=(ScheduledEvent("FOMC", CLOSE_EST, frozenset({"stock"})),))
    stage = RulesVeto(settings, news=FixedNews((-0.8, 12)))
    now = CLOSE_EST - timedelta(minutes=5)
    sig = signal(time=now, evidence={"model_fitted_at": "not a date"})

    decision = evaluate(stage, sig, now)

    assert decision.reason_code is ReasonCode.VETOED
    assert decision.stage == "veto"
    assert fired_rules(decision) == [STALE_EVIDENCE, MARKET_CLOSING, EVENT_WINDOW, CONTRADICTING_NEWS]
    assert veto(decision)["kind"] == "rules"
    assert len(veto(decision)["rules_checked"]) == 5
    for fragment in ("'model_fitted_at' is not a time", "closes in 5.0 min", "FOMC in 5 min", "-0.80"):
        assert fragment in decision.message
