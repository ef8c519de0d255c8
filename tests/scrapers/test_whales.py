"""The whale tracker: Kalshi trade parsing on fixtures, the tilt arithmetic, then real HTTP to a fake.

Fixtures (tests/scrapers/fixtures/), Kalshi `GET /trade-api/v2/markets/trades` answers:
- `kalshi_trades_current.json`: the current era (after 2026-03-12: `count_fp`, `*_dollars`
  strings, no integers; field names from Kalshi's OpenAPI `Trade` model): five trades on
  KXNFLGAME-26NOV29DALPHI-PHI, newest first. At NOW (17:00 UTC) with a 6-hour lookback:
    small  YES  100 @ 0.57 =   57 USD  16:55  (the last trade: crowd price 0.57)
    whale  YES 1500 @ 0.55 =  825 USD  16:40
    whale  NO  2000 @ 0.44 =  880 USD  16:10  (a NO taker pays 1 - 0.56)
    whale  YES 1200 @ 0.54 =  648 USD  15:00
    whale  YES 5000 @ 0.50 = 2500 USD  09:00  (before the lookback)
- `kalshi_trades_legacy.json`: one legacy-era trade (before 2026-01-29): integer `count`,
  cent `yes_price` / `no_price`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.contracts import ContractSpec, Domain, Measure
from scrapers.base import JsonFetcher, MalformedPayload, NoEstimate, SourceEstimate
from scrapers.whales import KalshiTrade, WhaleTracker, parse_trades, whale_probability
from tests.fakes.kalshi_trades import FakeKalshiTrades
from tests.fakes.server import Fault
from utils.request_budget import RequestBudget

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)
TICKER = "KXNFLGAME-26NOV29DALPHI-PHI"

# Hand-worked: whales 825 (YES), 880 (NO), 648 (YES); N = 2353, each capped at N/3 = 784.33:
# tilt = (784.33 - 784.33 + 648) / 2353 = 0.2754; p = 0.57 + 0.05 * 0.2754 = 0.5838
TILT = 648 / 2353
WHALE_P = 0.57 + 0.05 * TILT

EAGLES = ContractSpec(
    venue="kalshi",
    ticker=TICKER,
    series="KXNFLGAME",
    event="KXNFLGAME-26NOV29DALPHI",
    underlying="KXNFLGAME-26NOV29DALPHI",
    domain=Domain.SPORTS,
    measure=Measure.GAME_WINNER,
    subject="Dallas Cowboys at Philadelphia Eagles",
    day=date(2026, 11, 29),
    outcome="Philadelphia Eagles",
)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def trade(side: str, count: int, yes_price: str, minutes_ago: int = 10, trade_id: str = "t") -> KalshiTrade:
    return KalshiTrade(
        trade_id, TICKER, Decimal(count), Decimal(yes_price), side, NOW - timedelta(minutes=minutes_ago)
    )


@pytest.fixture
def fake() -> Any:
    server = FakeKalshiTrades().start()
    server.add(fixture("kalshi_trades_current.json"))
    yield server
    server.stop()


def tracker(fake: FakeKalshiTrades, per_day: int = 100, **kwargs: Any) -> WhaleTracker:
    fetcher = JsonFetcher("whale_tracker", cache_seconds=300, budget=RequestBudget(per_day=per_day))
    return WhaleTracker(fetcher, base_url=fake.api_base, **kwargs)


def run(whales: WhaleTracker, contract: ContractSpec = EAGLES, now: datetime = NOW) -> Any:
    return asyncio.run(whales.estimate(contract, now))


# --------------------------------------------------------------------------------------- parsing
def test_parse_trades_reads_the_current_era_page() -> None:
    trades = parse_trades(fixture("kalshi_trades_current.json"))
    assert len(trades) == 5
    first = trades[1]
    assert first.id == "0b9e4c17-8d25-4f63-a1c0-2e7f5d9b3a42"
    assert (first.ticker, first.count, first.yes_price, first.taker_side) == (
        TICKER,
        Decimal("1500.00"),
        Decimal("0.5500"),
        "yes",
    )
    assert first.created_time == datetime(2026, 11, 29, 16, 40, 12, 345678, tzinfo=UTC)
    assert first.notional == Decimal("825")


def test_parse_trades_reads_a_legacy_integer_trade() -> None:
    (legacy,) = parse_trades(fixture("kalshi_trades_legacy.json"))
    assert legacy.count == Decimal(900)
    assert legacy.yes_price == Decimal("0.62")
    assert legacy.taker_side == "no"
    assert legacy.notional == Decimal("342")  # 900 x (1 - 0.62): the NO taker paid 0.38


def test_parse_trades_rejects_an_unknown_taker_side() -> None:
    payload = fixture("kalshi_trades_current.json")
    payload["trades"][0]["taker_side"] = "buy"
    with pytest.raises(MalformedPayload, match="taker_side"):
        parse_trades(payload)


def test_parse_trades_names_a_missing_price() -> None:
    payload = fixture("kalshi_trades_current.json")
    del payload["trades"][2]["yes_price_dollars"]
    with pytest.raises(MalformedPayload, match="yes_price"):
        parse_trades(payload)


# --------------------------------------------------------------------------------------- the tilt
def test_whale_probability_caps_each_trade_at_a_third_of_the_flow() -> None:
    trades = [
        trade("yes", 1500, "0.55"),
        trade("no", 2000, "0.56"),
        trade("yes", 1200, "0.54"),
        trade("yes", 100, "0.57"),
    ]
    p, evidence = whale_probability(trades, 0.57, min_notional=500)
    assert evidence["whale_trades"] == 3
    assert evidence["tilt"] == pytest.approx(TILT)  # 0.2754
    assert p == pytest.approx(WHALE_P)  # 0.5838
    assert evidence["yes_taker_notional_usd"] == 1473.0 and evidence["no_taker_notional_usd"] == 880.0


def test_one_whale_alone_moves_the_estimate_a_third_of_max_shift() -> None:
    p, evidence = whale_probability([trade("yes", 10_000, "0.40")], 0.40, min_notional=500)
    assert evidence["tilt"] == pytest.approx(1 / 3)
    assert p == pytest.approx(0.40 + 0.05 / 3)


def test_three_agreeing_whales_move_it_the_full_max_shift() -> None:
    trades = [trade("no", 1000, "0.30", trade_id=str(i)) for i in range(3)]  # 700 USD each
    p, evidence = whale_probability(trades, 0.30, min_notional=500)
    assert evidence["tilt"] == pytest.approx(-1.0)
    assert p == pytest.approx(0.25)


def test_without_whales_the_estimate_is_the_crowd_price() -> None:
    p, evidence = whale_probability([trade("yes", 100, "0.57")], 0.57, min_notional=500)
    assert p == 0.57 and evidence["tilt"] == 0.0 and evidence["whale_trades"] == 0


def test_the_estimate_stays_inside_the_tradable_range() -> None:
    trades = [trade("yes", 1000, "0.98", trade_id=str(i)) for i in range(3)]
    p, _ = whale_probability(trades, 0.98, min_notional=500)
    assert p == 0.99


# --------------------------------------------------------------------------------------- the source over HTTP
def test_estimate_tilts_the_last_trade_price_by_the_whales(fake: FakeKalshiTrades) -> None:
    result = run(tracker(fake))
    assert isinstance(result, SourceEstimate)
    assert result.probability == pytest.approx(WHALE_P, abs=1e-9)
    assert result.evidence["crowd_price"] == 0.57 and result.evidence["crowd_price_from"] == "last trade"
    assert result.evidence["whale_trades"] == 3  # the 09:00 whale is outside the 6-hour lookback
    assert result.as_of == datetime(2026, 11, 29, 16, 55, 3, 412851, tzinfo=UTC)
    (request,) = fake.trade_requests
    assert request.query["ticker"] == TICKER and request.query["limit"] == "1000"
    assert int(request.query["min_ts"]) <= int((NOW - timedelta(hours=6)).timestamp())


def test_estimate_takes_the_crowd_price_from_the_callable_when_given(fake: FakeKalshiTrades) -> None:
    result = run(tracker(fake, crowd_price=lambda contract: 0.60))
    assert isinstance(result, SourceEstimate)
    assert result.probability == pytest.approx(0.60 + 0.05 * TILT)
    assert result.evidence["crowd_price_from"] == "crowd_price callable"


def test_no_whale_in_the_lookback_gives_no_estimate(fake: FakeKalshiTrades) -> None:
    result = run(tracker(fake, min_notional_usd=1000))  # only the 09:00 trade is that large
    assert isinstance(result, NoEstimate)
    assert "no trade of $1,000 or more" in result.reason


def test_a_quiet_market_gives_no_estimate(fake: FakeKalshiTrades) -> None:
    result = run(tracker(fake), replace(EAGLES, ticker="KXNFLGAME-26NOV29DALPHI-DAL"))
    assert isinstance(result, NoEstimate)


def test_contracts_of_no_domain_or_another_venue_give_no_estimate_without_a_request(
    fake: FakeKalshiTrades,
) -> None:
    whales = tracker(fake)
    assert isinstance(run(whales, replace(EAGLES, domain=Domain.UNKNOWN)), NoEstimate)
    assert isinstance(run(whales, replace(EAGLES, venue="polymarket")), NoEstimate)
    assert fake.trade_requests == []
    assert Domain.UNKNOWN not in whales.domains and Domain.WEATHER in whales.domains


def test_a_second_estimate_within_the_cache_time_makes_no_request(fake: FakeKalshiTrades) -> None:
    whales = tracker(fake)
    first = run(whales)
    second = run(whales, now=NOW + timedelta(minutes=1))
    assert isinstance(first, SourceEstimate) and isinstance(second, SourceEstimate)
    assert len(fake.trade_requests) == 1


def test_pages_are_followed_to_the_last_cursor() -> None:
    fake = FakeKalshiTrades(max_page=2).start()
    try:
        fake.add(fixture("kalshi_trades_current.json"))
        result = run(tracker(fake))
        assert isinstance(result, SourceEstimate)
        assert result.probability == pytest.approx(WHALE_P)
        assert [r.query.get("cursor") for r in fake.trade_requests] == [
            None,
            "2",
        ]  # 4 trades since min_ts, 2 a page
    finally:
        fake.stop()


def test_a_429_pauses_the_tracker_without_further_requests(fake: FakeKalshiTrades) -> None:
    whales = tracker(fake)
    fake.server.inject(Fault(status=429))
    first = run(whales)
    assert isinstance(first, NoEstimate) and "429" in first.reason
    assert isinstance(run(whales, now=NOW + timedelta(seconds=30)), NoEstimate)
    assert len(fake.trade_requests) == 1
    assert isinstance(run(whales, now=NOW + timedelta(minutes=2)), SourceEstimate)


def test_a_5xx_is_retried_then_succeeds(fake: FakeKalshiTrades) -> None:
    whales = tracker(fake)
    fake.server.inject(Fault(status=502))
    assert isinstance(run(whales), SourceEstimate)
    assert len(fake.trade_requests) == 2


def test_the_daily_budget_stops_requests_once_spent(fake: FakeKalshiTrades) -> None:
    whales = tracker(fake, per_day=1)
    assert isinstance(run(whales), SourceEstimate)
    other = run(whales, replace(EAGLES, ticker="KXNFLGAME-26NOV29DALPHI-DAL"))
    assert isinstance(other, NoEstimate) and "budget" in other.reason
    assert len(fake.trade_requests) == 1


def test_health_after_success_then_failure(fake: FakeKalshiTrades) -> None:
    whales = tracker(fake)
    run(whales)
    assert whales.health().ok and whales.health().last_success_at == NOW
    fake.server.inject(Fault(status=500, times=3))
    later = NOW + timedelta(minutes=10)  # a new min_ts bucket: not in the cache
    assert isinstance(run(whales, now=later), NoEstimate)
    health = whales.health()
    assert not health.ok and health.last_error_at == later and "500" in (health.last_error or "")


def test_a_crowd_price_outside_zero_one_gives_no_estimate(fake: FakeKalshiTrades) -> None:
    result = run(tracker(fake, crowd_price=lambda contract: 1.2))
    assert isinstance(result, NoEstimate) and "not inside (0, 1)" in result.reason
