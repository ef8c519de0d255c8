"""The prediction gate stage: the consensus again at the price of the moment, then the three gates.

Real desk, consensus, gates and Kalshi fees; the quotes and the venue's tape are fixed. The book
in most tests is bid 0.20 / ask 0.22 (mid 0.21), where the Kalshi taker fee on 100 contracts is
0.07 x 100 x 0.22 x 0.78 = $1.2012, rounded up to $1.21: 0.0121 a contract, so buying YES costs
0.22 + 0.0121 = 0.2321.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bots.event_trading.consensus import ConsensusSettings
from bots.event_trading.desk import EdgeDesk
from bots.event_trading.stage import (
    AssetClassSplit,
    GateSettings,
    PredictionGateStage,
    estimates_from_evidence,
)
from domain.contract_parsing import parse_kalshi_ticker
from domain.contracts import Strike, StrikeType
from domain.fees import KalshiFees
from domain.instruments import AssetClass, Instrument
from domain.market import Quote
from domain.pipeline import SignalContext, Stage
from domain.prediction_records import Calibration, EdgeRecord
from domain.signals import Decision, ReasonCode, Side, Signal, SignalIntent, Verdict
from scrapers.base import SourceUnavailable
from scrapers.router import SourceRouter
from scrapers.whales import KalshiTrade
from tests.factories import signal as make_signal
from tests.factories import stock

NOW = datetime(2026, 2, 9, 15, 0, tzinfo=UTC)
VENUE = "sim-kalshi"
D = Decimal

CHI = Instrument(
    symbol="KXHIGHCHI-26FEB09-B38.5",
    venue=VENUE,
    asset_class=AssetClass.PREDICTION,
    tick_size=D("0.01"),
    lot_size=D(1),
    underlying="KXHIGHCHI-26FEB09",
    min_quantity=D(1),
    contract=parse_kalshi_ticker(VENUE, "KXHIGHCHI-26FEB09-B38.5", Strike(StrikeType.BETWEEN, D(38), D(39))),
)
BARE = Instrument(
    symbol="KXHIGHNY-26FEB09-B40.5",
    venue=VENUE,
    asset_class=AssetClass.PREDICTION,
    tick_size=D("0.01"),
    lot_size=D(1),
    underlying="KXHIGHNY-26FEB09",
)


class FixedTape:
    def __init__(self, *trades: KalshiTrade) -> None:
        self._trades = list(trades)

    def trades(self, ticker: str, since: datetime, now: datetime) -> list[KalshiTrade]:
        return [t for t in self._trades if t.ticker == ticker and since <= t.created_time <= now]


class DownTape:
    def trades(self, ticker: str, since: datetime, now: datetime) -> list[KalshiTrade]:
        raise SourceUnavailable("kalshi trades: HTTP 503 after 3 attempts")


def traded(minutes_ago: float, cents: int, count: int = 10) -> KalshiTrade:
    moment = NOW - timedelta(minutes=minutes_ago)
    return KalshiTrade(f"t{minutes_ago}", CHI.symbol, D(count), D(cents) / 100, "yes", moment)


# a quiet hour: VWAP (0.21 x 10 + 0.22 x 10) / 20 = 0.215, drift +0.01, no spike
CALM = FixedTape(traded(50, 21), traded(20, 22))
# 0.12 four minutes ago, 0.22 one minute ago: a 0.10 move within the 5-minute window
SPIKE = FixedTape(traded(4, 12), traded(1, 22))


class Quotes:
    """The quote of the moment by instrument key; records what it was asked."""

    def __init__(self, *quotes: Quote) -> None:
        self._quotes = {q.instrument_key: q for q in quotes}
        self.asked: list[Instrument] = []

    async def __call__(self, instrument: Instrument) -> Quote | None:
        self.asked.append(instrument)
        return self._quotes.get(instrument.key)


def book(bid: str = "0.20", ask: str = "0.22", instrument: Instrument = CHI) -> Quote:
    return Quote(instrument.key, D(bid), D(ask), NOW, "test")


def stage(
    quotes: Quotes | None = None,
    *,
    tape: object = CALM,
    on_edge: Any = None,
    calibrations: dict[str, dict[str, Calibration]] | None = None,
    fees: dict[str, KalshiFees] | None = None,
) -> PredictionGateStage:
    desk = EdgeDesk(
        SourceRouter([]),
        ConsensusSettings(),
        calibrations,
        tapes={VENUE: tape},  # type: ignore[dict-item]
    )
    return PredictionGateStage(
        desk,
        quotes or Quotes(book()),
        {VENUE: KalshiFees()} if fees is None else fees,
        GateSettings(),
        on_edge=on_edge,
    )


def entry(estimates: object, instrument: Instrument = CHI) -> Signal:
    evidence: dict[str, object] = {} if estimates is None else {"estimates": estimates}
    return make_signal(
        instrument, Side.BUY, SignalIntent.OPEN, bot="edges", stop=None, time=NOW, evidence=evidence
    )


def decide(the_stage: Stage, signal: Signal) -> Decision:
    return asyncio.run(the_stage.evaluate(signal, SignalContext(now=NOW)))


def gate_names(decision: Decision) -> list[str]:
    return [gate["gate"] for gate in decision.details["gates"]]


# --- what is not gated, what cannot be priced ------------------------------------------------------


def test_exits_are_not_gated() -> None:
    close = make_signal(CHI, Side.SELL, SignalIntent.CLOSE, stop=None, time=NOW)
    quotes = Quotes()

    decision = decide(stage(quotes), close)

    assert decision.passed and decision.message == "exits are not gated"
    assert quotes.asked == []


def test_an_entry_without_estimates_has_no_consensus() -> None:
    decision = decide(stage(), entry(None))

    assert decision.reason_code is ReasonCode.NO_CONSENSUS
    assert (
        decision.message == "KXHIGHCHI-26FEB09-B38.5: the signal carries no estimates (evidence['estimates'])"
    )


def test_an_estimate_that_is_not_a_number_has_no_consensus() -> None:
    decision = decide(stage(), entry({"gfs_ensemble": 0.40, "nws_forecast": True}))

    assert decision.reason_code is ReasonCode.NO_CONSENSUS
    assert "estimate of 'nws_forecast' is not a number: True" in decision.message


def test_an_entry_without_contract_terms_has_no_consensus() -> None:
    decision = decide(stage(), entry({"gfs_ensemble": 0.40, "nws_forecast": 0.36}, BARE))

    assert decision.reason_code is ReasonCode.NO_CONSENSUS
    assert decision.message.startswith("KXHIGHNY-26FEB09-B40.5: the market's terms are unknown")


def test_no_quote_means_no_price() -> None:
    quotes = Quotes()

    decision = decide(stage(quotes), entry({"gfs_ensemble": 0.40, "nws_forecast": 0.36}))

    assert decision.reason_code is ReasonCode.NO_PRICE
    assert decision.message == "no price for KXHIGHCHI-26FEB09-B38.5: the consensus has no crowd"
    assert quotes.asked == [CHI]


def test_a_mid_that_moved_above_the_sources_turns_the_consensus_against_the_entry() -> None:
    # the bot saw 0.40 and 0.36 against 0.21; the mid is now 0.43, above both: they agree on NO
    quotes = Quotes(book("0.42", "0.44"))
    edges: list[EdgeRecord] = []

    decision = decide(
        stage(quotes, on_edge=edges.append), entry({"gfs_ensemble": 0.40, "nws_forecast": 0.36})
    )

    assert decision.reason_code is ReasonCode.NO_CONSENSUS
    assert decision.message == (
        "the consensus now favours NO, not this entry "
        "(2 sources agree on NO: 0.380 against the crowd's 0.430)"
    )
    assert decision.details["gates"] == [] and decision.details["consensus"]["side"] == "no"
    assert edges == []


def test_a_mid_between_the_sources_leaves_no_consensus() -> None:
    quotes = Quotes(book("0.36", "0.40"))  # mid 0.38: 0.40 above it, 0.36 below

    decision = decide(stage(quotes), entry({"gfs_ensemble": 0.40, "nws_forecast": 0.36}))

    assert decision.reason_code is ReasonCode.NO_CONSENSUS
    assert "disagree" in decision.message


def test_a_venue_without_a_fee_schedule_is_refused() -> None:
    decision = decide(stage(fees={}), entry({"gfs_ensemble": 0.40, "nws_forecast": 0.36}))

    assert decision.reason_code is ReasonCode.EDGE_TOO_SMALL
    assert decision.message == "no fee schedule for sim-kalshi"


# --- the three gates -------------------------------------------------------------------------------


def test_an_edge_the_costs_eat_fails_the_edge_gate_alone() -> None:
    # (0.30 + 0.26) / 2 = 0.28; edge 0.28 - 0.2321 = 0.0479, under 0.05
    edges: list[EdgeRecord] = []

    decision = decide(stage(on_edge=edges.append), entry({"gfs_ensemble": 0.30, "nws_forecast": 0.26}))

    assert decision.reason_code is ReasonCode.EDGE_TOO_SMALL
    assert decision.message == (
        "edge gate: P(YES) 0.280 vs ask 0.22 + fee 0.0121: edge +0.048, below the 0.050 needed"
    )
    assert gate_names(decision) == ["edge"]
    [record] = edges
    assert record.gate == "edge" and record.gate_reason.startswith("P(YES) 0.280")
    assert record.edge == pytest.approx(0.0479) and record.side_price == pytest.approx(0.2321)


def test_sources_spread_too_far_apart_fail_the_ml_prior() -> None:
    # (0.60 + 0.30) / 2 = 0.45, edge 0.45 - 0.2321 = 0.2179 passes; the spread 0.30 is over 0.25
    edges: list[EdgeRecord] = []

    decision = decide(stage(on_edge=edges.append), entry({"gfs_ensemble": 0.60, "nws_forecast": 0.30}))

    assert decision.reason_code is ReasonCode.ML_GATE
    assert decision.message == "ml gate: prior: the sources spread 0.300 apart (at most 0.25)"
    assert gate_names(decision) == ["edge", "ml"]
    assert decision.details["gates"][0]["passed"] is True
    [record] = edges
    assert record.gate == "ml" and record.edge == pytest.approx(0.2179)


def test_our_own_longshot_fails_the_ml_prior() -> None:
    # bid 0.03 / ask 0.05, mid 0.04; fee on 100 at 0.05: 0.07 x 100 x 0.05 x 0.95 = 0.3325 -> $0.34,
    # cost 0.0534; P(YES) 0.14 gives edge 0.0866, but 0.14 is under the prior's 0.15
    quotes = Quotes(book("0.03", "0.05"))

    decision = decide(stage(quotes), entry({"gfs_ensemble": 0.14, "nws_forecast": 0.14}))

    assert decision.reason_code is ReasonCode.ML_GATE
    assert decision.details["gates"][0]["details"]["edge"] == pytest.approx(0.0866)
    assert "one of our own longshots" in decision.message


def test_a_spike_in_the_tape_fails_the_price_gate() -> None:
    edges: list[EdgeRecord] = []

    decision = decide(
        stage(tape=SPIKE, on_edge=edges.append), entry({"gfs_ensemble": 0.40, "nws_forecast": 0.36})
    )

    assert decision.reason_code is ReasonCode.PRICE_GATE
    assert decision.message == "price gate: price spiked 0.100 within 5 minutes; wait for it to settle"
    assert gate_names(decision) == ["edge", "ml", "price"]
    assert [edge.gate for edge in edges] == ["price"]


def test_a_tape_that_cannot_be_read_fails_the_price_gate() -> None:
    decision = decide(stage(tape=DownTape()), entry({"gfs_ensemble": 0.40, "nws_forecast": 0.36}))

    assert decision.reason_code is ReasonCode.PRICE_GATE
    assert decision.message.startswith("price gate: the trade tape cannot be read (kalshi trades: HTTP 503")
    assert gate_names(decision) == ["edge", "ml", "price"]


def test_an_entry_through_all_three_gates_is_accepted_with_the_consensus_as_confidence() -> None:
    # (0.40 + 0.36) / 2 = 0.38; edge 0.38 - 0.2321 = 0.1479; spread 0.04; a calm hour
    edges: list[EdgeRecord] = []
    signal = entry({"gfs_ensemble": 0.40, "nws_forecast": 0.36})

    decision = decide(stage(on_edge=edges.append), signal)

    assert decision.verdict is Verdict.PASS and decision.reason_code is ReasonCode.OK
    assert decision.confidence == pytest.approx(0.38)
    assert decision.message == (
        "2 sources agree on YES: 0.380 against the crowd's 0.210; "
        "P(YES) 0.380 vs ask 0.22 + fee 0.0121: edge +0.148; "
        "prior: no longshot, sources close together; "
        "2 trades: no spike, drift +0.010"
    )
    assert gate_names(decision) == ["edge", "ml", "price"]
    assert all(gate["passed"] for gate in decision.details["gates"])
    assert decision.details["gates"][0]["details"]["fee_per_contract"] == "0.0121"
    assert edges == [
        EdgeRecord(
            bot="edges",
            instrument_key=CHI.key,
            domain="weather",
            side="yes",
            crowd_price=pytest.approx(0.21),  # type: ignore[arg-type]
            probability=pytest.approx(0.38),  # type: ignore[arg-type]
            edge=pytest.approx(0.1479),  # type: ignore[arg-type]
            side_price=pytest.approx(0.2321),  # type: ignore[arg-type]
            estimates={"gfs_ensemble": 0.40, "nws_forecast": 0.36},
            first_seen=signal.time,
            last_seen=signal.time,
            gate=None,
            gate_reason="",
        )
    ]


def test_the_consensus_is_recomputed_with_the_desks_calibration() -> None:
    # gfs: 30 settled, errors 3.0 -> brier (3.0 + 2.0) / 40 = 0.125, weight 8;
    # nws: 10 settled, errors 3.0 -> brier (3.0 + 2.0) / 20 = 0.25, weight 4
    # (8 x 0.40 + 4 x 0.28) / 12 = 0.36, not the plain mean 0.34
    calibrations = {
        "weather": {
            "gfs_ensemble": Calibration("gfs_ensemble", 30, 3.0),
            "nws_forecast": Calibration("nws_forecast", 10, 3.0),
        }
    }

    decision = decide(stage(calibrations=calibrations), entry({"gfs_ensemble": 0.40, "nws_forecast": 0.28}))

    assert decision.passed and decision.confidence == pytest.approx(0.36)


def test_an_on_edge_that_raises_does_not_stop_the_decision() -> None:
    def broken(record: EdgeRecord) -> None:
        raise OSError("journal is read-only")

    decision = decide(stage(on_edge=broken), entry({"gfs_ensemble": 0.40, "nws_forecast": 0.36}))

    assert decision.passed and decision.confidence == pytest.approx(0.38)


def test_estimates_from_evidence_reads_each_source_as_of_now() -> None:
    assert CHI.contract is not None

    found = estimates_from_evidence(
        CHI.contract, {"estimates": {"gfs_ensemble": 0.4, "nws_forecast": 1}}, NOW
    )

    assert [(e.source, e.probability, e.as_of) for e in found.estimates] == [
        ("gfs_ensemble", 0.4, NOW),
        ("nws_forecast", 1.0, NOW),
    ]
    assert found.contract == CHI.contract and found.missing == ()


# --- one slot, two stages --------------------------------------------------------------------------


class Recording:
    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[Signal] = []

    async def evaluate(self, signal: Signal, ctx: SignalContext) -> Decision:
        self.seen.append(signal)
        return Decision.accept(self.name, f"seen by {self.name}")


def test_the_split_sends_prediction_signals_to_the_prediction_stage_and_others_to_the_ensemble() -> None:
    prediction, ensemble = Recording("consensus"), Recording("ensemble")
    split = AssetClassSplit("ensemble-or-consensus", prediction, ensemble)
    kalshi_entry = entry({"gfs_ensemble": 0.40, "nws_forecast": 0.36})
    stock_entry = make_signal(stock("SPY"), time=NOW)

    assert decide(split, kalshi_entry).message == "seen by consensus"
    assert decide(split, stock_entry).message == "seen by ensemble"
    assert prediction.seen == [kalshi_entry] and ensemble.seen == [stock_entry]


def test_the_split_without_an_ensemble_passes_other_signals_saying_the_ensemble_is_off() -> None:
    prediction = Recording("consensus")
    split = AssetClassSplit("ensemble-or-consensus", prediction, None)

    decision = decide(split, make_signal(stock("SPY"), time=NOW))

    assert decision.passed and decision.stage == "ensemble-or-consensus"
    assert decision.message == "the ensemble is off"
    assert prediction.seen == []


def test_a_self_priced_bots_prediction_signal_passes_on_its_own_pricing_without_the_consensus() -> None:
    prediction, ensemble = Recording("consensus"), Recording("ensemble")
    kalshi_entry = entry({"gfs_ensemble": 0.40, "nws_forecast": 0.36})
    split = AssetClassSplit("ensemble-or-consensus", prediction, ensemble, frozenset({kalshi_entry.bot}))

    decision = decide(split, kalshi_entry)

    assert decision.passed and decision.message.startswith(f"priced by {kalshi_entry.bot}'s own model")
    assert prediction.seen == [] and ensemble.seen == []


def test_a_prediction_signal_with_no_consensus_stage_and_no_own_pricing_is_refused() -> None:
    split = AssetClassSplit("ensemble-or-consensus", None, Recording("ensemble"))

    decision = decide(split, entry({"gfs_ensemble": 0.40, "nws_forecast": 0.36}))

    assert not decision.passed and decision.reason_code is ReasonCode.NO_CONSENSUS
