"""The crypto derivatives source: the pure vote on hand-worked numbers, the ccxt feed against a fake
Binance USDⓈ-M API over real HTTP, and the source on top of both."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ai.data_hub import DataHub
from ai.derivatives_feed import DerivativesFeed, DerivativesSnapshot, DerivativesUnavailable
from ai.sources.crypto_derivatives import CryptoDerivativesSource, derivatives_vote
from ai.votes import Abstention, Vote
from domain.instruments import Instrument
from domain.market import BarSeries, Quote
from tests.factories import T0, crypto, stock
from tests.factories import signal as make_signal
from tests.fakes.binance_futures import FakeBinanceFutures, Perpetual
from tests.fakes.server import Fault

NOW = T0  # the hub's time in the source tests
SET_AT = T0 - timedelta(seconds=10)  # when the fake's readings were taken


def snapshot(
    funding_rate: float = 0.0001,
    funding_interval_hours: float = 8.0,
    open_interest_change: float | None = 0.0,
    price_change: float | None = 0.0,
) -> DerivativesSnapshot:
    return DerivativesSnapshot(
        exchange="binanceusdm",
        symbol="BTC/USDT:USDT",
        funding_rate=funding_rate,
        funding_interval_hours=funding_interval_hours,
        funding_history=(0.0001, 0.0001),
        mark_price=50_000.0,
        open_interest=80_000.0,
        open_interest_value=None,
        open_interest_change=open_interest_change,
        price_change=price_change,
        lookback_hours=24,
        as_of=SET_AT,
    )


# --- the pure vote: defaults neutral 0.0001, extreme 0.0005 (per 8 h), oi_scale 0.10 ----------------


def test_crowded_longs_paying_extreme_funding_lean_down_at_full_funding_tilt() -> None:
    # (0.0005 - 0.0001) / (0.0005 - 0.0001) = 1 -> f = -1; OI flat -> o = 0; value -0.5
    value, confidence, evidence = derivatives_vote(snapshot(funding_rate=0.0005))

    assert evidence["funding_tilt"] == -1.0
    assert evidence["open_interest_tilt"] == 0.0
    assert value == pytest.approx(-0.5)
    assert confidence == pytest.approx(1.0)  # agreement 1 (o is silent) x strength max(1, 0)


def test_crowded_shorts_lean_up_with_the_rate_normalised_to_eight_hours() -> None:
    # -0.00005 per 4 h = -0.0001 per 8 h; (-0.0001 - 0.0001) / 0.0004 = -0.5 -> f = +0.5; value 0.25
    value, confidence, evidence = derivatives_vote(
        snapshot(
            funding_rate=-0.00005, funding_interval_hours=4.0, open_interest_change=None, price_change=None
        )
    )

    assert evidence["funding_rate_8h"] == pytest.approx(-0.0001)
    assert evidence["funding_tilt"] == 0.5
    assert value == pytest.approx(0.25)
    assert confidence == pytest.approx(0.5)


def test_funding_at_the_baseline_with_flat_open_interest_has_no_view() -> None:
    value, confidence, evidence = derivatives_vote(snapshot(funding_rate=0.0001))

    assert value == 0.0
    assert confidence == 0.0
    assert evidence["funding_tilt"] == 0.0


def test_open_interest_rising_with_price_rising_is_new_longs_and_leans_up() -> None:
    # o = +1 x clip(0.05 / 0.10, 0, 1) = 0.5; f = 0; value 0.25, confidence 1 x 0.5
    value, confidence, evidence = derivatives_vote(snapshot(open_interest_change=0.05, price_change=0.02))

    assert evidence["open_interest_tilt"] == 0.5
    assert value == pytest.approx(0.25)
    assert confidence == pytest.approx(0.5)


def test_open_interest_rising_with_price_falling_is_new_shorts_and_leans_down() -> None:
    # o = -1 x clip(0.20 / 0.10, 0, 1) = -1; value -0.5
    value, confidence, evidence = derivatives_vote(snapshot(open_interest_change=0.20, price_change=-0.01))

    assert evidence["open_interest_tilt"] == -1.0
    assert value == pytest.approx(-0.5)
    assert confidence == pytest.approx(1.0)


def test_falling_open_interest_is_positions_closing_and_has_no_view() -> None:
    value, confidence, evidence = derivatives_vote(snapshot(open_interest_change=-0.10, price_change=0.05))

    assert evidence["open_interest_tilt"] == 0.0
    assert value == 0.0
    assert confidence == 0.0


def test_agreeing_tilts_add_up() -> None:
    # f = -(0.0003 - 0.0001) / 0.0004 = -0.5; o = -1 x 0.05 / 0.10 = -0.5; value -0.5, confidence 1 x 0.5
    value, confidence, _ = derivatives_vote(
        snapshot(funding_rate=0.0003, open_interest_change=0.05, price_change=-0.01)
    )

    assert value == pytest.approx(-0.5)
    assert confidence == pytest.approx(0.5)


def test_disagreeing_tilts_lower_the_confidence() -> None:
    # f = -0.5; o = +0.025 / 0.10 = +0.25; value -0.125; agreement 0.25 / 0.75 = 1/3, strength 0.5
    value, confidence, _ = derivatives_vote(
        snapshot(funding_rate=0.0003, open_interest_change=0.025, price_change=0.01)
    )

    assert value == pytest.approx(-0.125)
    assert confidence == pytest.approx(1 / 6)


# --- the feed against the fake, over real HTTP -----------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeBinanceFutures]:
    server = FakeBinanceFutures().start()
    server.list_perpetual(Perpetual("BTCUSDT", "BTC"))
    server.list_perpetual(Perpetual("ETHUSDT", "ETH", tick_size="0.01"))
    yield server
    server.stop()


def set_btc(fake: FakeBinanceFutures, at: datetime = SET_AT, interval_hours: int = 8) -> None:
    """BTC at 0.03 % funding; OI up from 97,600 to 100,000 BTC over 24 h while the price rose
    from 50,760 to 51,000 (the history's value / amount)."""
    fake.set_funding(
        "BTCUSDT", Decimal("0.0003"), at + timedelta(hours=2), mark_price=Decimal("51000.5"), time=at
    )
    fake.set_funding_history(
        "BTCUSDT",
        [(at - timedelta(hours=interval_hours * back), Decimal("0.0001") * back) for back in range(5)],
    )
    fake.set_open_interest("BTCUSDT", Decimal("80000.123"), at)
    fake.set_open_interest_history(
        "BTCUSDT",
        [
            (
                at - timedelta(hours=back),
                Decimal(100_000 - 100 * back),
                Decimal(100_000 - 100 * back) * (51_000 - 10 * back),
            )
            for back in range(30)
        ],
    )


def feed_for(fake: FakeBinanceFutures, **settings: Any) -> DerivativesFeed:
    return DerivativesFeed(base_url=fake.url, **settings)


def data_requests(fake: FakeBinanceFutures) -> list[str]:
    return [r.path for r in fake.server.requests if not r.path.endswith("/exchangeInfo")]


def test_feed_reads_funding_and_open_interest_as_binance_reports_them(fake: FakeBinanceFutures) -> None:
    set_btc(fake)

    snap = asyncio.run(feed_for(fake).snapshot("BTC"))

    assert snap is not None
    assert snap.symbol == "BTC/USDT:USDT"
    assert snap.exchange == "binanceusdm"
    assert snap.funding_rate == pytest.approx(0.0003)
    assert snap.funding_interval_hours == 8.0
    assert snap.funding_history == pytest.approx((0.0004, 0.0003, 0.0002, 0.0001, 0.0))
    assert snap.mark_price == pytest.approx(51000.5)
    assert snap.open_interest == pytest.approx(80000.123)
    assert snap.open_interest_value is None  # Binance's current-OI answer has no value
    assert snap.open_interest_change == pytest.approx(100_000 / 97_600 - 1)
    assert snap.price_change == pytest.approx(51_000 / 50_760 - 1)
    assert snap.as_of == SET_AT.replace(microsecond=0)
    history = fake.server.requests_to("GET", "/futures/data/openInterestHist")[0].query
    assert history == {"symbol": "BTCUSDT", "period": "1h", "limit": "25"}


def test_feed_derives_the_funding_interval_from_the_spacing_of_realised_rates(
    fake: FakeBinanceFutures,
) -> None:
    set_btc(fake, interval_hours=4)

    snap = asyncio.run(feed_for(fake).snapshot("BTC"))

    assert snap is not None
    assert snap.funding_interval_hours == 4.0


def test_two_snapshots_within_refresh_seconds_make_one_set_of_requests(fake: FakeBinanceFutures) -> None:
    set_btc(fake)
    feed = feed_for(fake, refresh_seconds=60)

    async def twice() -> tuple[DerivativesSnapshot | None, DerivativesSnapshot | None]:
        return await feed.snapshot("BTC"), await feed.snapshot("BTC")

    first, second = asyncio.run(twice())

    assert first is second
    assert len(fake.server.requests) == 5  # exchangeInfo, premiumIndex, fundingRate, openInterest, history


def test_an_expired_snapshot_is_fetched_again_but_markets_load_once(fake: FakeBinanceFutures) -> None:
    set_btc(fake)
    feed = feed_for(fake, refresh_seconds=0)

    async def twice() -> None:
        await feed.snapshot("BTC")
        await feed.snapshot("BTC")

    asyncio.run(twice())

    assert len(fake.server.requests_to("GET", "/fapi/v1/exchangeInfo")) == 1
    assert len(fake.server.requests_to("GET", "/fapi/v1/premiumIndex")) == 2


def test_concurrent_callers_share_one_fetch(fake: FakeBinanceFutures) -> None:
    set_btc(fake)
    feed = feed_for(fake)

    async def together() -> list[DerivativesSnapshot | None]:
        return list(await asyncio.gather(*(feed.snapshot("BTC") for _ in range(5))))

    results = asyncio.run(together())

    assert all(r is results[0] and r is not None for r in results)
    assert len(data_requests(fake)) == 4


def test_an_underlying_without_a_perpetual_is_none_without_data_requests(fake: FakeBinanceFutures) -> None:
    assert asyncio.run(feed_for(fake).snapshot("DOGE")) is None
    assert data_requests(fake) == []


def test_a_rate_limit_answer_is_unavailable_with_its_retry_after(fake: FakeBinanceFutures) -> None:
    set_btc(fake)
    fake.server.inject(
        Fault(status=429, retry_after="7", reason="Too many requests.", path_contains="premiumIndex")
    )

    with pytest.raises(DerivativesUnavailable) as raised:
        asyncio.run(feed_for(fake).snapshot("BTC"))

    assert raised.value.reason == "binanceusdm is rate-limiting us (retry after 7 s): Too many requests."


def test_an_exchange_error_is_unavailable_with_the_exchanges_words(fake: FakeBinanceFutures) -> None:
    set_btc(fake)
    fake.server.inject(Fault(status=400, reason="Invalid symbol.", path_contains="openInterest"))

    with pytest.raises(DerivativesUnavailable) as raised:
        asyncio.run(feed_for(fake).snapshot("BTC"))

    assert raised.value.reason == "binanceusdm refused the request: Invalid symbol."


def test_an_unreachable_exchange_is_unavailable(fake: FakeBinanceFutures) -> None:
    feed = feed_for(fake)
    fake.stop()

    with pytest.raises(DerivativesUnavailable) as raised:
        asyncio.run(feed.snapshot("BTC"))

    assert raised.value.reason.startswith("could not reach binanceusdm")


def test_a_failed_fetch_is_not_cached(fake: FakeBinanceFutures) -> None:
    set_btc(fake)
    feed = feed_for(fake)
    fake.server.inject(Fault(status=429, retry_after="1", path_contains="premiumIndex"))

    async def fail_then_succeed() -> DerivativesSnapshot | None:
        with pytest.raises(DerivativesUnavailable):
            await feed.snapshot("BTC")
        return await feed.snapshot("BTC")

    assert asyncio.run(fail_then_succeed()) is not None


def test_an_exchange_without_funding_and_open_interest_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="kraken lacks fetchFundingRate, fetchFundingRateHistory"):
        DerivativesFeed("kraken")


# --- the source ------------------------------------------------------------------------------------------


async def _no_bars(instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
    return None


async def _no_quote(instrument: Instrument) -> Quote | None:
    return None


def ask(source: CryptoDerivativesSource, instrument: Instrument) -> Vote | Abstention:
    return asyncio.run(source.vote(make_signal(instrument), DataHub(_no_bars, _no_quote, NOW)))


def test_source_abstains_on_a_stock_without_asking_the_exchange(fake: FakeBinanceFutures) -> None:
    result = ask(CryptoDerivativesSource(feed_for(fake)), stock())

    assert result == Abstention("crypto_derivatives", "not a crypto instrument")
    assert fake.server.requests == []


def test_source_abstains_when_the_exchange_lists_no_perpetual(fake: FakeBinanceFutures) -> None:
    result = ask(CryptoDerivativesSource(feed_for(fake)), crypto("DOGE/USD"))

    assert result == Abstention("crypto_derivatives", "binanceusdm lists no DOGE/USDT:USDT perpetual")


def test_source_abstains_on_a_stale_snapshot_saying_how_old(fake: FakeBinanceFutures) -> None:
    set_btc(fake, at=NOW - timedelta(hours=1))

    result = ask(CryptoDerivativesSource(feed_for(fake), max_age_seconds=900), crypto("BTC/USD"))

    assert result == Abstention(
        "crypto_derivatives", "BTC/USDT:USDT derivatives data is 3600 s old (at most 900 s)"
    )


def test_source_abstains_with_the_reason_when_the_exchange_is_unavailable(fake: FakeBinanceFutures) -> None:
    set_btc(fake)
    fake.server.inject(
        Fault(status=429, retry_after="7", reason="Too many requests.", path_contains="premiumIndex")
    )

    result = ask(CryptoDerivativesSource(feed_for(fake)), crypto("BTC/USD"))

    assert isinstance(result, Abstention)
    assert result.reason.startswith("binanceusdm is rate-limiting us (retry after 7 s)")


def test_source_votes_on_a_fresh_snapshot_with_its_evidence(fake: FakeBinanceFutures) -> None:
    set_btc(fake)
    # funding 0.0003 per 8 h: f = -0.5; OI +2.46 % with the price up: o = +0.2459; value -0.127
    expected_oi = 100_000 / 97_600 - 1

    result = ask(CryptoDerivativesSource(feed_for(fake)), crypto("BTC/USD"))

    assert isinstance(result, Vote)
    assert result.as_of == SET_AT.replace(microsecond=0)
    assert result.value == pytest.approx((-0.5 + expected_oi / 0.10) / 2, abs=1e-9)
    assert result.evidence["exchange"] == "binanceusdm"
    assert result.evidence["symbol"] == "BTC/USDT:USDT"
    assert result.evidence["funding_rate"] == pytest.approx(0.0003)
    assert result.evidence["funding_rate_8h"] == pytest.approx(0.0003)
    assert result.evidence["open_interest_change"] == pytest.approx(expected_oi, abs=1e-6)
    assert result.evidence["price_change"] == pytest.approx(51_000 / 50_760 - 1, abs=1e-6)
    assert result.evidence["funding_tilt"] == -0.5
    assert result.evidence["open_interest_tilt"] == pytest.approx(expected_oi / 0.10, abs=1e-4)


def test_snapshot_is_plain_frozen_data() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot().funding_rate = 0.1  # type: ignore[misc]
