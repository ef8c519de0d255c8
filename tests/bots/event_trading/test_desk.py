"""The edge desk: shared estimates, calibration that learns from settlements, the ML gate, the tape.

Real router and consensus; the sources answer fixed probabilities and count how often they are
asked, the tape serves fixed trades. Weights and Brier scores are worked by hand in the tests.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bots.event_trading.consensus import ConsensusSettings
from bots.event_trading.desk import EdgeDesk, SourceStatus, edge_features
from bots.event_trading.gates import EdgeFeatures, MlGate, Trade
from domain.contract_parsing import parse_kalshi_ticker
from domain.contracts import ContractSpec, Domain, Strike, StrikeType
from domain.prediction_records import Calibration, EdgeRecord
from scrapers.base import EstimateResult, NoEstimate, SourceEstimate, SourceHealth, SourceUnavailable
from scrapers.router import Estimates, SourceRouter
from scrapers.whales import KalshiTrade

NOW = datetime(2026, 2, 9, 15, 0, tzinfo=UTC)
VENUE = "sim-kalshi"
D = Decimal

CHI = parse_kalshi_ticker(VENUE, "KXHIGHCHI-26FEB09-B38.5", Strike(StrikeType.BETWEEN, D(38), D(39)))
NY = parse_kalshi_ticker(VENUE, "KXHIGHNY-26FEB09-B40.5", Strike(StrikeType.BETWEEN, D(40), D(41)))
WEATHER = frozenset({Domain.WEATHER})


class CountingSource:
    """Answers a fixed YES probability (None: no estimate) after yielding once; counts its calls."""

    def __init__(self, name: str, probability: float | None, domains: frozenset[Domain] = WEATHER) -> None:
        self.name = name
        self.domains = domains
        self.probability = probability
        self.calls: list[tuple[str, datetime]] = []

    def health(self) -> SourceHealth:
        return SourceHealth(self.name, last_success_at=NOW, requests_today=len(self.calls))

    async def estimate(self, contract: ContractSpec, now: datetime) -> EstimateResult:
        self.calls.append((contract.ticker, now))
        await asyncio.sleep(0)  # a real source awaits its fetch: a second asker arrives meanwhile
        if self.probability is None:
            return NoEstimate(self.name, "no forecast for that day")
        return SourceEstimate(self.name, self.probability, now)


class FixedTape:
    """A venue's tape with fixed trades; records what it was asked."""

    def __init__(self, trades: list[KalshiTrade]) -> None:
        self._trades = trades
        self.asked: list[tuple[str, datetime, datetime]] = []

    def trades(self, ticker: str, since: datetime, now: datetime) -> list[KalshiTrade]:
        self.asked.append((ticker, since, now))
        return [t for t in self._trades if t.ticker == ticker and since <= t.created_time <= now]


def desk(*sources: CountingSource, **options: object) -> EdgeDesk:
    return EdgeDesk(SourceRouter(list(sources)), ConsensusSettings(), **options)  # type: ignore[arg-type]


# --- estimates -------------------------------------------------------------------------------------


def test_estimates_are_shared_within_the_ttl_and_asked_again_after_it() -> None:
    gfs, nws = CountingSource("gfs_ensemble", 0.40), CountingSource("nws_forecast", 0.30)
    the_desk = desk(gfs, nws, estimate_ttl=timedelta(seconds=60))

    async def go() -> list[Estimates]:
        return [
            await the_desk.estimates(CHI, NOW),
            await the_desk.estimates(CHI, NOW + timedelta(seconds=59)),
            await the_desk.estimates(CHI, NOW + timedelta(seconds=61)),
        ]

    first, within, after = asyncio.run(go())

    assert within is first  # the same answer, no second round of sources
    assert [p.probability for p in after.estimates] == [0.40, 0.30]
    assert gfs.calls == [(CHI.ticker, NOW), (CHI.ticker, NOW + timedelta(seconds=61))]
    assert len(nws.calls) == 2


def test_estimates_of_different_contracts_are_kept_apart() -> None:
    gfs = CountingSource("gfs_ensemble", 0.40)
    the_desk = desk(gfs)

    async def go() -> None:
        await the_desk.estimates(CHI, NOW)
        await the_desk.estimates(NY, NOW)
        await the_desk.estimates(CHI, NOW + timedelta(seconds=1))

    asyncio.run(go())

    assert [ticker for ticker, _ in gfs.calls] == [CHI.ticker, NY.ticker]


def test_concurrent_asks_for_one_contract_join_one_request() -> None:
    gfs, nws = CountingSource("gfs_ensemble", 0.40), CountingSource("nws_forecast", 0.30)
    the_desk = desk(gfs, nws)

    async def go() -> list[Estimates]:
        return list(await asyncio.gather(the_desk.estimates(CHI, NOW), the_desk.estimates(CHI, NOW)))

    one, other = asyncio.run(go())

    assert one is other
    assert len(gfs.calls) == 1 and len(nws.calls) == 1


def test_forgetting_a_market_asks_its_sources_again() -> None:
    gfs = CountingSource("gfs_ensemble", 0.40)
    the_desk = desk(gfs)

    async def go() -> None:
        await the_desk.estimates(CHI, NOW)
        the_desk.forget(f"{VENUE}:{CHI.ticker}")
        await the_desk.estimates(CHI, NOW + timedelta(seconds=1))

    asyncio.run(go())

    assert len(gfs.calls) == 2


def test_on_estimates_is_told_what_was_found_and_not_told_when_nothing_was() -> None:
    told: list[tuple[ContractSpec, Estimates, datetime]] = []
    the_desk = desk(
        CountingSource("gfs_ensemble", 0.40),
        CountingSource("nws_forecast", None),
        on_estimates=lambda contract, found, now: told.append((contract, found, now)),
    )
    silent = desk(CountingSource("nws_forecast", None), on_estimates=lambda *_: told.append(_))

    found = asyncio.run(the_desk.estimates(CHI, NOW))
    nothing = asyncio.run(silent.estimates(CHI, NOW))

    assert told == [(CHI, found, NOW)]
    assert [(e.source, e.probability) for e in found.estimates] == [("gfs_ensemble", 0.40)]
    assert found.missing == (NoEstimate("nws_forecast", "no forecast for that day"),)
    assert nothing.estimates == ()


def test_an_on_estimates_that_raises_does_not_stop_the_pricing() -> None:
    def broken(contract: ContractSpec, found: Estimates, now: datetime) -> None:
        raise OSError("journal is read-only")

    the_desk = desk(CountingSource("gfs_ensemble", 0.40), on_estimates=broken)

    found = asyncio.run(the_desk.estimates(CHI, NOW))

    assert [e.probability for e in found.estimates] == [0.40]


# --- calibration -----------------------------------------------------------------------------------


def test_settle_scores_each_source_by_its_squared_error() -> None:
    the_desk = desk(CountingSource("gfs_ensemble", 0.40), CountingSource("nws_forecast", 0.30))

    updated = the_desk.settle("weather", {"nws_forecast": 0.3, "gfs_ensemble": 0.8}, outcome_yes=True)

    # gfs (0.8 - 1)^2 = 0.04, nws (0.3 - 1)^2 = 0.49; returned in the sources' order
    assert [r.source for r in updated] == ["gfs_ensemble", "nws_forecast"]
    assert [r.settled for r in updated] == [1, 1]
    assert [r.squared_error_sum for r in updated] == pytest.approx([0.04, 0.49])
    assert the_desk.calibration("weather") == {r.source: r for r in updated}
    assert the_desk.calibration("economics") == {}


def test_settlements_accumulate_on_the_records_given_at_start() -> None:
    start = {"weather": {"gfs_ensemble": Calibration("gfs_ensemble", 30, 3.0)}}
    the_desk = desk(CountingSource("gfs_ensemble", 0.40), calibrations=start)

    [record] = the_desk.settle("weather", {"gfs_ensemble": 0.1}, outcome_yes=False)

    # 3.0 + (0.1 - 0)^2
    assert record.settled == 31 and record.squared_error_sum == pytest.approx(3.01)


def test_the_consensus_weights_follow_the_settled_record() -> None:
    the_desk = desk(CountingSource("gfs_ensemble", 0.40), CountingSource("nws_forecast", 0.30))
    found = asyncio.run(the_desk.estimates(CHI, NOW))
    before = the_desk.consensus(CHI, found, 0.21)

    the_desk.settle("weather", {"gfs_ensemble": 0.8, "nws_forecast": 0.3}, outcome_yes=True)
    after = the_desk.consensus(CHI, found, 0.21)

    # before: both at the prior, half each -> 0.35
    assert before.weights == pytest.approx({"gfs_ensemble": 0.5, "nws_forecast": 0.5})
    assert before.probability == pytest.approx(0.35)
    # after: gfs brier (0.04 + 0.2 * 10) / 11 = 2.04 / 11, nws (0.49 + 2.0) / 11 = 2.49 / 11;
    # weights 11/2.04 and 11/2.49, normalised 2.49/4.53 and 2.04/4.53
    assert after.weights == pytest.approx({"gfs_ensemble": 2.49 / 4.53, "nws_forecast": 2.04 / 4.53})
    assert after.probability == pytest.approx((2.49 * 0.40 + 2.04 * 0.30) / 4.53)  # 0.354967
    assert after.side == "yes"


def test_a_settlement_in_another_domain_leaves_this_domains_weights_alone() -> None:
    the_desk = desk(CountingSource("gfs_ensemble", 0.40), CountingSource("nws_forecast", 0.30))
    found = asyncio.run(the_desk.estimates(CHI, NOW))

    the_desk.settle("economics", {"gfs_ensemble": 0.0}, outcome_yes=True)

    assert the_desk.consensus(CHI, found, 0.21).weights == pytest.approx(
        {"gfs_ensemble": 0.5, "nws_forecast": 0.5}
    )


# --- ML gate ---------------------------------------------------------------------------------------


def settled_edge(index: int, *, won: bool | None, estimates: dict[str, float] | None = None) -> EdgeRecord:
    return EdgeRecord(
        bot="edges",
        instrument_key=f"{VENUE}:KXHIGHCHI-26FEB{index:02d}-B38.5",
        domain="weather",
        side="yes",
        crowd_price=0.21,
        probability=0.35,
        edge=0.02 * index,
        side_price=0.2321,
        estimates={"gfs_ensemble": 0.40, "nws_forecast": 0.30} if estimates is None else estimates,
        first_seen=NOW,
        last_seen=NOW,
        outcome_yes=won,
    )


def test_edge_features_read_the_spread_of_the_sources() -> None:
    record = settled_edge(3, won=True, estimates={"a": 0.40, "b": 0.30, "c": 0.46})

    assert edge_features(record) == EdgeFeatures(0.06, 0.2321, 3, pytest.approx(0.16))  # type: ignore[arg-type]
    assert edge_features(settled_edge(1, won=True, estimates={})).source_spread == 0.0


def test_the_ml_gate_keeps_its_prior_below_min_training() -> None:
    the_desk = desk(CountingSource("gfs_ensemble", 0.40), ml_gate=MlGate(min_training=10))
    nine = [settled_edge(i, won=i % 2 == 0) for i in range(9)]

    gate = the_desk.train_ml_gate(nine)

    assert gate.model is None and gate.trained_on == 9 and gate.min_training == 10
    assert the_desk.ml_gate is gate


def test_the_ml_gate_fits_a_model_at_min_training_with_both_outcomes() -> None:
    the_desk = desk(CountingSource("gfs_ensemble", 0.40), ml_gate=MlGate(min_training=10))
    ten = [settled_edge(i, won=i >= 5) for i in range(10)]

    gate = the_desk.train_ml_gate(ten)

    assert gate.model is not None and gate.trained_on == 10
    assert the_desk.ml_gate is gate


def test_unsettled_edges_and_edges_without_sources_are_not_trained_on() -> None:
    the_desk = desk(CountingSource("gfs_ensemble", 0.40), ml_gate=MlGate(min_training=10))
    history = [settled_edge(i, won=i >= 5) for i in range(9)]
    history += [settled_edge(20, won=None), settled_edge(21, won=True, estimates={})]

    gate = the_desk.train_ml_gate(history)

    assert gate.model is None and gate.trained_on == 9


def test_one_outcome_alone_keeps_the_prior() -> None:
    the_desk = desk(CountingSource("gfs_ensemble", 0.40), ml_gate=MlGate(min_training=10))

    gate = the_desk.train_ml_gate([settled_edge(i, won=True) for i in range(12)])

    assert gate.model is None and gate.trained_on == 12


# --- tape and health -------------------------------------------------------------------------------


def tape_trade(
    trade_id: str, minutes_ago: int, cents: int, count: int, ticker: str = CHI.ticker
) -> KalshiTrade:
    return KalshiTrade(
        trade_id, ticker, D(count), D(cents) / 100, "yes", NOW - timedelta(minutes=minutes_ago)
    )


def test_trades_come_from_the_venues_tape_as_the_price_gate_reads_them() -> None:
    tape = FixedTape([tape_trade("t1", 50, 21, 10), tape_trade("t2", 5, 22, 35), tape_trade("t0", 90, 30, 1)])
    the_desk = desk(CountingSource("gfs_ensemble", 0.40), tapes={VENUE: tape})
    since = NOW - timedelta(hours=1)

    trades = asyncio.run(the_desk.trades(VENUE, CHI.ticker, since, NOW))

    assert trades == [
        Trade(NOW - timedelta(minutes=50), 0.21, 10.0),
        Trade(NOW - timedelta(minutes=5), 0.22, 35.0),
    ]
    assert tape.asked == [(CHI.ticker, since, NOW)]


def test_a_venue_without_a_tape_has_no_trades() -> None:
    tape = FixedTape([tape_trade("t1", 5, 22, 35)])
    the_desk = desk(CountingSource("gfs_ensemble", 0.40), tapes={VENUE: tape})

    assert asyncio.run(the_desk.trades("kalshi", CHI.ticker, NOW - timedelta(hours=1), NOW)) == []
    assert tape.asked == []


def test_health_lists_each_source_with_the_domains_it_prices() -> None:
    both = frozenset({Domain.WEATHER, Domain.ECONOMICS})
    the_desk = desk(CountingSource("gfs_ensemble", 0.40), CountingSource("whales", 0.30, both))

    statuses = the_desk.health()

    assert statuses == [
        SourceStatus(SourceHealth("gfs_ensemble", last_success_at=NOW), ("weather",)),
        SourceStatus(SourceHealth("whales", last_success_at=NOW), ("economics", "weather")),
    ]
    shown = statuses[1].to_dict()
    assert shown["name"] == "whales" and shown["ok"] is True
    assert shown["domains"] == ["economics", "weather"]
    assert shown["last_success_at"] == NOW.isoformat()


def test_a_tape_that_cannot_be_read_raises_through_the_desk() -> None:
    class DownTape:
        def trades(self, ticker: str, since: datetime, now: datetime) -> list[KalshiTrade]:
            raise SourceUnavailable("kalshi trades: HTTP 503 after 3 attempts")

    the_desk = desk(CountingSource("gfs_ensemble", 0.40), tapes={VENUE: DownTape()})

    with pytest.raises(SourceUnavailable, match="HTTP 503"):
        asyncio.run(the_desk.trades(VENUE, CHI.ticker, NOW - timedelta(hours=1), NOW))
