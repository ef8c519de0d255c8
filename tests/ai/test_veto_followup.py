"""Veto analytics: a vetoed entry followed on paper, with hand-worked returns."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ai.veto_followup import advance, open_shadow, scorecard, veto_cause
from domain.shadow_trades import Mark, ShadowTrade
from domain.signals import Decision, ReasonCode, Side
from tests.factories import T0, crypto, quote, signal

GRACE = timedelta(minutes=60)
HORIZONS = (60, 240)
RULES_VETO = Decision.reject(
    "veto",
    ReasonCode.VETOED,
    "vetoed: evidence 'as_of' is 200 s old",
    {"veto": {"kind": "rules", "fired": [{"rule": "stale_evidence", "message": "...", "details": {}}]}},
)


def shadow_of(
    side: Side = Side.BUY, bid: str = "99", ask: str = "100", stop: float | None = 95.0
) -> ShadowTrade:
    sig = signal(crypto(), side, stop=stop)
    return open_shadow(sig, RULES_VETO, quote(crypto(), bid=bid, ask=ask), HORIZONS)


def at(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


def test_a_vetoed_buy_enters_at_the_ask_and_is_marked_at_the_bid_at_each_horizon() -> None:
    shadow = shadow_of()
    assert (
        shadow.entry_price == 100.0
        and shadow.status == "following"
        and shadow.cause == "rules:stale_evidence"
    )

    one_hour = advance(shadow, quote(crypto(), bid="103", ask="104"), T0 + at(60), GRACE)
    assert one_hour is not None
    assert one_hour.marks[60] == Mark(T0 + at(60), 103.0, pytest.approx(0.03), "horizon")
    assert 240 not in one_hour.marks and one_hour.status == "following"

    four_hours = advance(one_hour, quote(crypto(), bid="98", ask="99"), T0 + at(241), GRACE)
    assert four_hours is not None
    assert four_hours.marks[240].return_fraction == pytest.approx(-0.02)  # (98 - 100) / 100
    assert four_hours.status == "done"


def test_a_vetoed_sell_enters_at_the_bid_and_gains_when_the_ask_falls() -> None:
    shadow = shadow_of(Side.SELL, bid="99", ask="100", stop=110.0)
    assert shadow.entry_price == 99.0

    marked = advance(shadow, quote(crypto(), bid="101", ask="101.5"), T0 + at(60), GRACE)
    assert marked is not None
    assert marked.marks[60].return_fraction == pytest.approx(-(101.5 - 99) / 99)  # -2.525 %


def test_a_quote_through_the_stop_ends_the_trade_at_that_quote_for_every_open_horizon() -> None:
    shadow = shadow_of(stop=95.0)

    stopped = advance(shadow, quote(crypto(), bid="94.5", ask="94.6"), T0 + at(30), GRACE)

    assert stopped is not None and stopped.status == "done"
    assert {h: (m.return_fraction, m.by) for h, m in stopped.marks.items()} == {
        60: (pytest.approx(-0.055), "stop"),
        240: (pytest.approx(-0.055), "stop"),
    }


def test_before_the_first_horizon_nothing_changes() -> None:
    assert advance(shadow_of(), quote(crypto(), bid="101", ask="102"), T0 + at(59), GRACE) is None


def test_no_quote_at_a_horizon_waits_and_no_price_is_invented() -> None:
    shadow = shadow_of()

    assert advance(shadow, None, T0 + at(61), GRACE) is None
    later = advance(shadow, quote(crypto(), bid="100.5", ask="101"), T0 + at(62), GRACE)
    assert later is not None and later.marks[60].price == 100.5 and later.marks[60].at == T0 + at(62)


def test_horizons_still_unpriced_past_the_grace_are_given_up() -> None:
    shadow = shadow_of()

    assert advance(shadow, None, T0 + at(240 + 60), GRACE) is None  # exactly at the limit: still waits
    given_up = advance(shadow, None, T0 + at(240 + 61), GRACE)

    assert given_up is not None and given_up.status == "done" and given_up.marks == {}


def test_an_entry_vetoed_without_a_quote_is_counted_as_unpriced_and_never_marked() -> None:
    shadow = open_shadow(signal(crypto()), RULES_VETO, None, HORIZONS)

    assert shadow.entry_price is None and shadow.status == "unpriced"
    assert advance(shadow, quote(crypto()), T0 + at(600), GRACE) is None


def test_the_cause_names_the_fired_rules_the_model_category_or_the_failure_policy() -> None:
    both = Decision.reject(
        "veto",
        ReasonCode.VETOED,
        "vetoed",
        {"veto": {"fired": [{"rule": "event_window"}, {"rule": "duplicate_signal"}]}},
    )
    llm = Decision.reject(
        "veto_llm",
        ReasonCode.VETOED,
        "LLM veto",
        {"llm": {"outcome": "vetoed", "verdict": {"category": "event_timing"}}},
    )
    late = Decision.reject("veto_llm", ReasonCode.VETOED, "by policy", {"llm": {"outcome": "late"}})

    assert veto_cause(both) == "rules:duplicate_signal+event_window"
    assert veto_cause(llm) == "llm:event_timing"
    assert veto_cause(late) == "llm:policy:late"


def test_scorecard_means_and_win_rates_per_cause_by_hand() -> None:
    def shadow(cause: str, returns: dict[int, float], priced: bool = True) -> ShadowTrade:
        base = shadow_of()
        marks = {h: Mark(T0 + at(h), 100 * (1 + r), r, "horizon") for h, r in returns.items()}
        return ShadowTrade(
            **{
                **{f: getattr(base, f) for f in base.__dataclass_fields__},
                "cause": cause,
                "marks": marks,
                "entry_price": 100.0 if priced else None,
            }
        )

    rows = scorecard(
        [
            shadow("rules:stale_evidence", {60: 0.02, 240: -0.01}),
            shadow("rules:stale_evidence", {60: -0.04}),
            shadow("llm:event_timing", {60: 0.01, 240: 0.03}),
            shadow("llm:event_timing", {}, priced=False),
        ],
        HORIZONS,
    )

    by_cause = {row.cause: row for row in rows}
    assert [row.cause for row in rows] == ["all", "llm:event_timing", "rules:stale_evidence"]
    everything = by_cause["all"]
    assert (everything.vetoed, everything.priced) == (4, 3)
    # 60 min: 0.02, -0.04 and 0.01: mean -0.01 / 3, two of the three positive
    assert everything.by_horizon[60] == (3, pytest.approx(-0.01 / 3), pytest.approx(2 / 3))
    assert everything.by_horizon[240] == (2, pytest.approx(0.01), pytest.approx(0.5))
    assert by_cause["rules:stale_evidence"].by_horizon[60] == (2, pytest.approx(-0.01), pytest.approx(0.5))
    assert by_cause["llm:event_timing"].by_horizon[240] == (1, pytest.approx(0.03), pytest.approx(1.0))
