"""The ensemble: the pure `combine`, the stage that asks the sources, and the data hub they share."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from ai.data_hub import DataHub
from ai.ensemble import EnsembleSettings, EnsembleStage, combine
from ai.votes import Abstention, SourceResult, Vote, VoteSource
from domain.instruments import Instrument
from domain.market import BarSeries, Quote
from domain.pipeline import SignalContext
from domain.signals import Decision, ReasonCode, Side, Signal, SignalIntent, Verdict
from tests.factories import T0, quote, stock
from tests.factories import signal as make_signal
from tests.strategies.bars import series_from_closes

WEIGHTS = {"ml": 0.20, "llm": 0.15, "multi_timeframe": 0.15, "technical": 0.10, "news": 0.05}


# --- combine -------------------------------------------------------------------------------------------


def three_votes_two_abstentions() -> list[SourceResult]:
    return [
        Vote("ml", 0.6, 0.8),
        Abstention("llm", "no API key"),
        Vote("multi_timeframe", -0.2, 0.5),
        Vote("technical", 1.0, 0.9),
        Abstention("news", "no headlines in 24 h"),
    ]


def test_combine_weighs_the_votes_renormalised_over_the_sources_that_voted() -> None:
    outcome = combine(three_votes_two_abstentions(), WEIGHTS, Side.BUY)

    # counted weights: ml 0.20 + multi_timeframe 0.15 + technical 0.10 = 0.45
    # vote       = (0.20 * 0.6 + 0.15 * -0.2 + 0.10 * 1.0) / 0.45 = (0.12 - 0.03 + 0.10) / 0.45 = 0.19 / 0.45
    # confidence = (0.20 * 0.8 + 0.15 * 0.5 + 0.10 * 0.9) / 0.45 = (0.16 + 0.075 + 0.09) / 0.45 = 0.325 / 0.45
    assert outcome.vote == pytest.approx(0.19 / 0.45)  # 0.4222
    assert outcome.agreement == pytest.approx(0.19 / 0.45)
    assert outcome.confidence == pytest.approx(0.325 / 0.45)  # 0.7222
    assert outcome.used_weights == pytest.approx(
        {"ml": 0.20 / 0.45, "multi_timeframe": 0.15 / 0.45, "technical": 0.10 / 0.45}
    )
    assert not outcome.abstained_all
    assert len(outcome.votes) == 5


def test_combine_for_a_sell_flips_the_agreement_but_not_the_vote() -> None:
    outcome = combine(three_votes_two_abstentions(), WEIGHTS, Side.SELL)

    assert outcome.vote == pytest.approx(0.19 / 0.45)
    assert outcome.agreement == pytest.approx(-0.19 / 0.45)
    assert outcome.confidence == pytest.approx(0.325 / 0.45)


def test_combine_when_every_source_abstains_reports_abstained_all() -> None:
    results: list[SourceResult] = [Abstention("ml", "model not trained"), Abstention("news", "offline")]

    outcome = combine(results, WEIGHTS, Side.BUY)

    assert outcome.abstained_all
    assert outcome.used_weights == {}
    assert (outcome.vote, outcome.agreement, outcome.confidence) == (0.0, 0.0, 0.0)
    assert outcome.votes == results


def test_combine_ignores_votes_of_unknown_and_zero_weight_sources() -> None:
    weights = {"ml": 0.3, "technical": 0.0}
    results: list[SourceResult] = [
        Vote("ml", 0.5, 0.4),
        Vote("technical", -1.0, 1.0),  # weight 0
        Vote("astrology", -1.0, 1.0),  # not in the weights
    ]

    outcome = combine(results, weights, Side.BUY)

    assert outcome.used_weights == {"ml": 1.0}
    assert outcome.vote == pytest.approx(0.5)
    assert outcome.confidence == pytest.approx(0.4)


def test_combine_with_only_unweighted_voters_counts_as_all_abstained() -> None:
    outcome = combine([Vote("astrology", 1.0, 1.0)], {"ml": 1.0}, Side.BUY)

    assert outcome.abstained_all


def test_combine_renormalised_weights_do_not_depend_on_the_weights_scale() -> None:
    results: list[SourceResult] = [Vote("a", 1.0, 1.0), Vote("b", -0.5, 0.5)]

    small = combine(results, {"a": 0.1, "b": 0.3}, Side.BUY)
    large = combine(results, {"a": 1.0, "b": 3.0}, Side.BUY)

    # a: 0.1 / 0.4 = 0.25, b: 0.75; vote = 0.25 * 1.0 + 0.75 * -0.5 = -0.125; confidence 0.25 + 0.375 = 0.625
    assert small.used_weights == pytest.approx({"a": 0.25, "b": 0.75})
    assert large.used_weights == pytest.approx({"a": 0.25, "b": 0.75})
    assert small.vote == pytest.approx(-0.125) == large.vote
    assert small.confidence == pytest.approx(0.625) == large.confidence


# --- the stage -----------------------------------------------------------------------------------------


@dataclass
class FixedSource:
    name: str
    value: float
    confidence: float = 0.5
    hubs: list[object] = field(default_factory=list)

    async def vote(self, signal: Signal, hub: object) -> SourceResult:
        self.hubs.append(hub)
        return Vote(self.name, self.value, self.confidence, {"said": self.value})


@dataclass
class AbstainingSource:
    name: str
    reason: str = "no fresh data"

    async def vote(self, signal: Signal, hub: object) -> SourceResult:
        return Abstention(self.name, self.reason)


@dataclass
class RaisingSource:
    name: str

    async def vote(self, signal: Signal, hub: object) -> SourceResult:
        raise RuntimeError("feed down")


@dataclass
class ImpostorSource:
    """Asked as `name`, answers as "ml" (a copy-paste bug in a source)."""

    name: str

    async def vote(self, signal: Signal, hub: object) -> SourceResult:
        return Vote("ml", 1.0, 1.0)


@dataclass
class SleepingSource:
    name: str

    async def vote(self, signal: Signal, hub: object) -> SourceResult:
        await asyncio.sleep(30)
        return Vote(self.name, 1.0, 1.0)


async def no_bars(instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
    return None


async def no_quote(instrument: Instrument) -> Quote | None:
    return None


def empty_hub() -> DataHub:
    return DataHub(no_bars, no_quote, T0)


def stage_of(
    sources: Sequence[VoteSource],
    *,
    weights: Mapping[str, float] | None = None,
    threshold: float = 0.1,
    source_timeout_seconds: float = 2.0,
    when_all_abstain: str = "pass",
) -> EnsembleStage:
    """A stage over `sources`, each weighted 1 unless `weights` says otherwise."""
    settings = EnsembleSettings(
        weights=weights if weights is not None else {s.name: 1.0 for s in sources},
        threshold=threshold,
        source_timeout_seconds=source_timeout_seconds,
        when_all_abstain=when_all_abstain,
    )
    return EnsembleStage(sources, settings, empty_hub)


def run(stage: EnsembleStage, signal: Signal | None = None) -> tuple[SignalContext, Decision]:
    ctx = SignalContext(now=T0)
    decision = asyncio.run(stage.evaluate(signal or make_signal(), ctx))
    ctx.absorb(decision)
    return ctx, decision


def test_entry_passes_when_agreement_reaches_the_threshold() -> None:
    stage = stage_of([FixedSource("technical", 0.1, 0.7)], threshold=0.1)

    _, decision = run(stage)

    assert decision.verdict is Verdict.PASS
    assert decision.message == (
        "ensemble +0.10 for the buy (1 of 1 sources; threshold 0.10); confidence 0.70"
    )


def test_entry_is_rejected_just_below_the_threshold() -> None:
    stage = stage_of([FixedSource("technical", 0.09, 0.7)], threshold=0.1)

    _, decision = run(stage)

    assert decision.verdict is Verdict.REJECT
    assert decision.reason_code is ReasonCode.ENSEMBLE_DISAGREES
    assert "+0.09 for the buy" in decision.message


def test_sell_entry_passes_when_the_sources_vote_down() -> None:
    stage = stage_of([FixedSource("a", -0.5), FixedSource("b", -0.3)], threshold=0.1)

    _, decision = run(stage, make_signal(side=Side.SELL))

    # vote (-0.5 - 0.3) / 2 = -0.4, agreement for a sell +0.4
    assert decision.verdict is Verdict.PASS
    assert decision.message.startswith("ensemble +0.40 for the sell")


def test_a_buy_the_sources_vote_against_is_rejected() -> None:
    stage = stage_of([FixedSource("a", -0.5), FixedSource("b", -0.3)], threshold=0.1)

    _, decision = run(stage)

    assert decision.reason_code is ReasonCode.ENSEMBLE_DISAGREES
    assert decision.message.startswith("ensemble -0.40 for the buy")


def test_close_signals_pass_without_asking_any_source() -> None:
    source = FixedSource("technical", -1.0)
    stage = stage_of([source], threshold=0.1)

    _, decision = run(stage, make_signal(intent=SignalIntent.CLOSE))

    assert decision.verdict is Verdict.PASS
    assert decision.message == "exits are not put to the vote"
    assert source.hubs == []


def test_a_raising_and_a_sleeping_source_abstain_while_the_others_still_count() -> None:
    stage = stage_of(
        [FixedSource("technical", 0.6, 0.9), RaisingSource("news"), SleepingSource("llm")],
        source_timeout_seconds=0.05,
    )

    _, decision = run(stage)

    assert decision.verdict is Verdict.PASS
    sources = decision.details["ensemble"]["sources"]
    assert sources[1] == {"source": "news", "abstained": "failed: RuntimeError: feed down"}
    assert sources[2] == {"source": "llm", "abstained": "no answer within 0.05 s"}
    assert decision.details["ensemble"]["weights"] == {"technical": 1.0}
    assert "(1 of 3 sources" in decision.message


def test_a_source_answering_under_another_name_counts_as_an_abstention() -> None:
    stage = stage_of(
        [FixedSource("technical", 0.5), ImpostorSource("news")], weights={"technical": 1.0, "ml": 1.0}
    )

    _, decision = run(stage)

    assert decision.details["ensemble"]["weights"] == {"technical": 1.0}
    assert decision.details["ensemble"]["sources"][1]["source"] == "news"
    assert "abstained" in decision.details["ensemble"]["sources"][1]


def test_details_carry_every_source_and_the_numbers_of_the_vote() -> None:
    stage = stage_of(
        [
            FixedSource("ml", 0.6, 0.8),
            AbstainingSource("llm", "no API key"),
            FixedSource("technical", 1.0, 0.9),
        ],
        weights={"ml": 0.20, "llm": 0.15, "technical": 0.10},
        threshold=0.1,
    )

    _, decision = run(stage)

    # (0.20 * 0.6 + 0.10 * 1.0) / 0.30 = 0.22 / 0.30 = 0.7333; confidence (0.16 + 0.09) / 0.30 = 0.8333
    assert decision.details == {
        "ensemble": {
            "vote": 0.7333,
            "agreement": 0.7333,
            "confidence": 0.8333,
            "threshold": 0.1,
            "weights": {"ml": 0.6667, "technical": 0.3333},
            "sources": [
                {"source": "ml", "vote": 0.6, "confidence": 0.8, "as_of": None, "evidence": {"said": 0.6}},
                {"source": "llm", "abstained": "no API key"},
                {
                    "source": "technical",
                    "vote": 1.0,
                    "confidence": 0.9,
                    "as_of": None,
                    "evidence": {"said": 1.0},
                },
            ],
        }
    }


def test_the_ensemble_confidence_lands_on_the_context() -> None:
    stage = stage_of([FixedSource("a", 0.8, 0.9), FixedSource("b", 0.4, 0.3)])

    ctx, decision = run(stage)

    # confidence (0.9 + 0.3) / 2 = 0.6
    assert decision.confidence == pytest.approx(0.6)
    assert ctx.confidence == pytest.approx(0.6)


def test_all_abstaining_passes_by_default_and_says_so() -> None:
    stage = stage_of([AbstainingSource("ml", "model not trained")])

    ctx, decision = run(stage)

    assert decision.verdict is Verdict.PASS
    assert decision.message == (
        "no ensemble source voted on the buy (ml: model not trained); passed without a vote"
    )
    assert decision.details["ensemble"]["vote"] is None
    assert ctx.confidence is None


def test_all_abstaining_rejects_for_want_of_data_when_configured() -> None:
    stage = stage_of([AbstainingSource("ml", "model not trained")], when_all_abstain="reject")

    _, decision = run(stage)

    assert decision.verdict is Verdict.REJECT
    assert decision.reason_code is ReasonCode.ENSEMBLE_NO_DATA
    assert "(ml: model not trained)" in decision.message


def test_every_source_of_one_evaluation_shares_one_hub() -> None:
    a, b = FixedSource("a", 0.5), FixedSource("b", 0.5)
    made: list[DataHub] = []

    def factory() -> DataHub:
        made.append(empty_hub())
        return made[-1]

    stage = EnsembleStage([a, b], EnsembleSettings(weights={"a": 1, "b": 1}), factory)
    asyncio.run(stage.evaluate(make_signal(), SignalContext(now=T0)))

    assert len(made) == 1
    assert a.hubs == b.hubs == made


@dataclass
class DatedSource:
    name: str
    as_of: datetime

    async def vote(self, signal: Signal, hub: object) -> SourceResult:
        return Vote(self.name, 1.0, 1.0, as_of=self.as_of)


def test_a_vote_on_data_older_than_its_sources_limit_counts_as_an_abstention_saying_how_old() -> None:
    sources = [
        DatedSource("technical", T0 - timedelta(seconds=901)),
        DatedSource("macro", T0 - timedelta(seconds=900)),
        DatedSource("news", T0 - timedelta(hours=5)),
    ]
    settings = EnsembleSettings(
        weights={s.name: 1.0 for s in sources},
        threshold=0.1,
        max_vote_age_seconds={"technical": 900, "macro": 900},  # news: no limit here
    )

    _, decision = run(EnsembleStage(sources, settings, empty_hub))

    by_source = {s["source"]: s for s in decision.details["ensemble"]["sources"]}
    assert by_source["technical"]["abstained"] == (
        "its data is 901 s old (as of 2026-03-02 14:14:59 UTC; at most 900 s)"
    )
    assert by_source["macro"]["vote"] == 1.0 and by_source["news"]["vote"] == 1.0
    assert decision.details["ensemble"]["weights"] == {"macro": 0.5, "news": 0.5}


def test_settings_refuse_a_negative_weight_and_an_unknown_policy() -> None:
    with pytest.raises(ValueError, match="weight of 'ml'"):
        EnsembleSettings(weights={"ml": -0.1})
    with pytest.raises(ValueError, match="when_all_abstain"):
        EnsembleSettings(weights={}, when_all_abstain="maybe")


def test_two_sources_with_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="repeated: a"):
        EnsembleStage([FixedSource("a", 0.1), FixedSource("a", 0.2)], EnsembleSettings(weights={}), empty_hub)


# --- the data hub --------------------------------------------------------------------------------------


@dataclass
class CountingMarket:
    """Up to 200 bars closing at 100, 101, ..., 299; records every request."""

    asked: list[tuple[int, int]] = field(default_factory=list)

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        self.asked.append((timeframe_seconds, count))
        await asyncio.sleep(0)  # let a concurrent request arrive while this one is in flight
        closes = [100.0 + i for i in range(200)][-count:]
        return series_from_closes(closes, timeframe_seconds=timeframe_seconds)

    async def quote(self, instrument: Instrument) -> Quote | None:
        self.asked.append((0, 0))
        await asyncio.sleep(0)
        return quote(instrument)


def test_two_sources_asking_the_same_bars_cause_one_provider_call() -> None:
    market = CountingMarket()
    hub = DataHub(market.bars, market.quote, T0)

    async def both() -> tuple[BarSeries | None, BarSeries | None]:
        return await asyncio.gather(hub.bars(stock(), 60, 50), hub.bars(stock(), 60, 50))

    first, second = asyncio.run(both())

    assert market.asked == [(60, 50)]
    assert hub.fetches == 1
    assert first is not None and second is not None
    assert list(first.close) == list(second.close)


def test_a_request_for_fewer_bars_is_served_from_the_tail_of_the_cached_series() -> None:
    market = CountingMarket()
    hub = DataHub(market.bars, market.quote, T0)

    async def asks() -> BarSeries | None:
        await hub.bars(stock(), 60, 50)
        return await hub.bars(stock(), 60, 20)

    fewer = asyncio.run(asks())

    assert hub.fetches == 1
    assert fewer is not None
    assert list(fewer.close) == [280.0 + i for i in range(20)]  # the last 20 of the cached 250..299


def test_a_request_for_more_bars_fetches_again_and_replaces_the_cache() -> None:
    market = CountingMarket()
    hub = DataHub(market.bars, market.quote, T0)

    async def asks() -> BarSeries | None:
        await hub.bars(stock(), 60, 20)
        await hub.bars(stock(), 60, 50)
        return await hub.bars(stock(), 60, 30)

    last = asyncio.run(asks())

    assert market.asked == [(60, 20), (60, 50)]
    assert last is not None and len(last) == 30


def test_other_timeframes_and_quotes_are_fetched_once_each() -> None:
    market = CountingMarket()
    hub = DataHub(market.bars, market.quote, T0)

    async def asks() -> None:
        await asyncio.gather(hub.bars(stock(), 60, 20), hub.bars(stock(), 3600, 20))
        await asyncio.gather(hub.quote(stock()), hub.quote(stock()))

    asyncio.run(asks())

    assert sorted(market.asked) == [(0, 0), (60, 20), (3600, 20)]
    assert hub.fetches == 3


def test_missing_data_is_remembered_for_the_hubs_life() -> None:
    calls: list[str] = []

    async def absent_bars(instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        calls.append("bars")
        return None

    async def absent_quote(instrument: Instrument) -> Quote | None:
        calls.append("quote")
        return None

    hub = DataHub(absent_bars, absent_quote, T0)

    async def asks() -> tuple[object, ...]:
        return (
            await hub.bars(stock(), 60, 20),
            await hub.bars(stock(), 60, 10),
            await hub.quote(stock()),
            await hub.quote(stock()),
        )

    assert asyncio.run(asks()) == (None, None, None, None)
    assert calls == ["bars", "quote"]
