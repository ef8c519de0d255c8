"""Listing a series' open markets: the real adapter and kalshi-python over HTTP against the fake Kalshi.

New weather markets open every day, so the daemon asks `series_markets` rather than
relying on the tickers its settings list (issue 8).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest

from brokers.base import VenueRejected, VenueUnavailable
from domain.contracts import StrikeType
from domain.instruments import Instrument
from domain.orders import OrderIntent, OrderStatus, OrderType, TimeInForce, client_order_id_for
from domain.signals import Side
from tests.brokers.harnesses.kalshi import TICKER, KalshiHarness
from tests.fakes.kalshi import PREFIX
from tests.fakes.server import Fault, Request

D = Decimal
T = TypeVar("T")
SERIES = "KXHIGHCHI"
FEB10 = "KXHIGHCHI-26FEB10-B38.5"
FEB11 = "KXHIGHCHI-26FEB11-B38.5"
FEB12 = "KXHIGHCHI-26FEB12-B38.5"
FEB13 = "KXHIGHCHI-26FEB13-B38.5"
NEW_YORK = "KXHIGHNY-26FEB10-B38.5"
# the fake renders every market with strike_type between, floor 38, cap 39: midpoint 38.5, so B38.5
# tickers agree with their strike fields and B36.5 contradicts them
CONTRADICTED = "KXHIGHCHI-26FEB10-B36.5"


@pytest.fixture
def kalshi(tmp_path: Path) -> Iterator[KalshiHarness]:
    harness = KalshiHarness(tmp_path)  # lists TICKER (KXHIGHCHI-26FEB09-B38.5), active, quoted 0.26/0.28
    try:
        yield harness
    finally:
        harness.close()


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(scenario())  # type: ignore[arg-type]


def listed(h: KalshiHarness, *series: str) -> list[Instrument]:
    return run(lambda: h.broker.series_markets(series))


def symbols(instruments: list[Instrument]) -> list[str]:
    return [instrument.symbol for instrument in instruments]


def listings(h: KalshiHarness) -> list[Request]:
    """The `GET /markets` list requests (not `GET /markets/{ticker}`)."""
    return [r for r in h.fake.server.requests_to("GET", "/markets") if r.path == PREFIX + "/markets"]


def single_market_reads(h: KalshiHarness) -> list[Request]:
    """`GET /markets/{ticker}` requests (the order book is `GET /markets/{ticker}/orderbook`)."""
    return [
        r for r in h.fake.server.requests_to("GET", PREFIX + "/markets/") if not r.path.endswith("/orderbook")
    ]


def cursor_for(offset: int) -> str:
    """The fake's opaque cursor: the base64 of the offset of the next page's first row."""
    return base64.b64encode(str(offset).encode()).decode()


# ----------------------------------------------------------------------------- what is listed
def test_lists_only_the_open_markets_of_the_asked_series_following_every_cursor(
    kalshi: KalshiHarness,
) -> None:
    fake = kalshi.fake
    for ticker in (FEB10, FEB11, FEB12, FEB13):
        fake.add_market(ticker)
    fake.add_market("KXHIGHCHI-26FEB14-B38.5", status="initialized")  # not open yet
    fake.add_market("KXHIGHCHI-26FEB08-B38.5", status="closed")
    fake.add_market(NEW_YORK)  # another series
    fake.page_cap = 2  # 5 open KXHIGHCHI markets: pages of 2, 2 and 1

    found = listed(kalshi, SERIES)

    assert symbols(found) == [TICKER, FEB10, FEB11, FEB12, FEB13]
    requests = listings(kalshi)
    assert [r.query.get("cursor") for r in requests] == [None, cursor_for(2), cursor_for(4)]
    for request in requests:
        assert request.query["series_ticker"] == SERIES
        assert request.query["status"] == "open"  # the filter value, not the answer's "active"
        assert request.query["limit"] == "1000"  # the documented maximum
    assert kalshi.fake.auth_failures == []


def test_listed_markets_carry_their_grid_their_lot_and_their_contract(kalshi: KalshiHarness) -> None:
    kalshi.fake.add_market(FEB10, price_level_structure="tapered_deci_cent", fractional=True)

    chicago_9th, chicago_10th = listed(kalshi, SERIES)

    assert (chicago_9th.tick_size, chicago_9th.lot_size) == (D("0.01"), D(1))  # linear_cent, whole contracts
    # tapered: $0.001 in the tails is the finest step; fractional markets trade 0.01 contracts
    assert (chicago_10th.tick_size, chicago_10th.lot_size) == (D("0.001"), D("0.01"))
    assert chicago_10th.underlying == "KXHIGHCHI-26FEB10"
    contract = chicago_10th.contract
    assert contract is not None and contract.strike is not None
    assert contract.strike.strike_type is StrikeType.BETWEEN
    assert (contract.strike.floor_strike, contract.strike.cap_strike) == (D(38), D(39))
    assert contract.event == "KXHIGHCHI-26FEB10"


def test_a_market_opened_after_a_listing_appears_in_the_next_one(kalshi: KalshiHarness) -> None:
    assert symbols(listed(kalshi, SERIES)) == [TICKER]
    kalshi.fake.add_market(FEB10)  # tomorrow's market opens
    assert symbols(listed(kalshi, SERIES)) == [TICKER, FEB10]


def test_closed_and_settled_markets_drop_out_of_the_listing(kalshi: KalshiHarness) -> None:
    kalshi.fake.add_market(FEB10)
    kalshi.fake.add_market(FEB11, status="determined")  # result known, not paid yet
    assert symbols(listed(kalshi, SERIES)) == [TICKER, FEB10]
    kalshi.fake.settle_market(TICKER, "yes")  # reports status "finalized" from now on
    assert symbols(listed(kalshi, SERIES)) == [FEB10]


def test_several_series_are_listed_together_sorted_and_each_market_once(kalshi: KalshiHarness) -> None:
    kalshi.fake.add_market(NEW_YORK)
    kalshi.fake.add_market(FEB10)

    found = listed(kalshi, "KXHIGHNY", SERIES, "KXHIGHNY")

    assert symbols(found) == [TICKER, FEB10, NEW_YORK]  # sorted by symbol, whatever order was asked
    assert [r.query["series_ticker"] for r in listings(kalshi)] == ["KXHIGHNY", SERIES]


def test_a_series_without_open_markets_lists_nothing(kalshi: KalshiHarness) -> None:
    assert listed(kalshi, "KXHIGHMIA") == []
    assert listed(kalshi) == []
    assert len(listings(kalshi)) == 1  # asking for no series asks the venue nothing


def test_a_blank_or_hyphenated_series_is_refused_before_asking(kalshi: KalshiHarness) -> None:
    # an empty series_ticker would list every market on the venue, a market ticker none
    for wrong in ("", TICKER):
        with pytest.raises(ValueError, match="is not a series ticker"):
            listed(kalshi, wrong)
    with pytest.raises(TypeError, match="not the string"):
        run(lambda: kalshi.broker.series_markets(SERIES))  # one string, not a list of them
    assert listings(kalshi) == []


def test_instruments_still_lists_exactly_the_configured_symbols(kalshi: KalshiHarness) -> None:
    kalshi.fake.add_market(FEB10)
    listed(kalshi, SERIES)
    assert symbols(run(kalshi.broker.instruments)) == [TICKER]


# ----------------------------------------------------------------------------- payloads that do not parse
def test_a_market_whose_strikes_contradict_its_ticker_is_listed_without_contract_and_logged_once(
    kalshi: KalshiHarness, caplog: pytest.LogCaptureFixture
) -> None:
    # listed, not skipped: the market is tradable and the grid and lot parse; only the question it
    # settles on is in doubt, so it carries no contract (the risk engine cannot compare its stance
    # and no source prices it), as `instruments()` already treats such a configured market
    kalshi.fake.add_market(CONTRADICTED)
    with caplog.at_level(logging.WARNING, logger="brokers.kalshi"):
        first = listed(kalshi, SERIES)
        second = listed(kalshi, SERIES)

    for found in (first, second):
        by_symbol = {instrument.symbol: instrument for instrument in found}
        assert sorted(by_symbol) == [TICKER, CONTRADICTED]
        assert by_symbol[CONTRADICTED].contract is None
        assert by_symbol[TICKER].contract is not None
    warnings = [r.getMessage() for r in caplog.records if CONTRADICTED in r.getMessage()]
    assert len(warnings) == 1
    assert "midpoint 38.5" in warnings[0]  # (38 + 39) / 2, against the ticker's 36.5


def test_a_market_that_does_not_parse_is_left_out_with_a_warning_naming_it(
    kalshi: KalshiHarness, caplog: pytest.LogCaptureFixture
) -> None:
    kalshi.fake.add_market(FEB10)
    kalshi.fake.add_market(FEB11)
    kalshi.fake.markets[FEB10]["fractional_trading_enabled"] = "sometimes"  # not a boolean
    with caplog.at_level(logging.WARNING, logger="brokers.kalshi"):
        found = listed(kalshi, SERIES)
        again = listed(kalshi, SERIES)

    assert symbols(found) == symbols(again) == [TICKER, FEB11]
    warnings = [r.getMessage() for r in caplog.records if FEB10 in r.getMessage()]
    assert len(warnings) == 1
    assert "fractional_trading_enabled" in warnings[0]


def test_a_page_that_does_not_parse_is_venue_unavailable(kalshi: KalshiHarness) -> None:
    kalshi.fake.listing = {"markets": "none today", "cursor": ""}
    with pytest.raises(VenueUnavailable, match="markets of series KXHIGHCHI"):
        listed(kalshi, SERIES)


# ----------------------------------------------------------------------------- resolution sources
MIDWAY_CLI = "https://forecast.weather.gov/product.php?site=LOT&product=CLI&issuedby=MDW"


def test_listed_contracts_carry_what_settles_their_series_asked_once_a_series(kalshi: KalshiHarness) -> None:
    fake = kalshi.fake
    fake.add_market(FEB10)
    fake.add_market(NEW_YORK)
    fake.series[SERIES]["settlement_sources"] = [{"name": "National Weather Service", "url": MIDWAY_CLI}]
    fake.series["KXHIGHNY"]["settlement_sources"] = [{"name": "NWS Climatological Report", "url": ""}]

    found = {i.symbol: i.contract for i in listed(kalshi, SERIES, "KXHIGHNY")}
    again = {i.symbol: i.contract for i in listed(kalshi, SERIES, "KXHIGHNY")}

    assert {symbol: c.resolution_source for symbol, c in found.items() if c is not None} == {
        TICKER: MIDWAY_CLI,  # the URL names the station; the name only the agency
        FEB10: MIDWAY_CLI,
        NEW_YORK: "NWS Climatological Report",  # no URL: the name
    }
    assert again == found
    series_reads = [r.path for r in fake.server.requests_to("GET", PREFIX + "/series/")]
    assert sorted(series_reads) == [PREFIX + "/series/KXHIGHCHI", PREFIX + "/series/KXHIGHNY"]
    run(lambda: kalshi.broker.fee_schedule(TICKER))  # the fee terms come from the same answer
    assert len(fake.server.requests_to("GET", PREFIX + "/series/")) == 2


def test_a_series_that_cannot_be_read_lists_its_markets_without_a_source_and_says_why(
    kalshi: KalshiHarness, caplog: pytest.LogCaptureFixture
) -> None:
    kalshi.fake.series[SERIES]["settlement_sources"] = [{"name": " ", "url": None}]
    with caplog.at_level(logging.WARNING, logger="brokers.kalshi"):
        (chicago,) = listed(kalshi, SERIES)
    assert chicago.contract is not None and chicago.contract.resolution_source == ""
    (warning,) = [r.getMessage() for r in caplog.records if "settlement sources" in r.getMessage()]
    assert "KXHIGHCHI" in warning and "neither a url nor a name" in warning

    del kalshi.fake.series[SERIES]  # the venue no longer knows the series: still listed, unsourced
    (unsourced,) = run(lambda: kalshi.restarted_broker().series_markets([SERIES]))
    assert unsourced.contract is not None and unsourced.contract.resolution_source == ""


# ----------------------------------------------------------------------------- faults
def test_a_server_error_on_the_listing_is_retried(kalshi: KalshiHarness) -> None:
    kalshi.fake.server.inject(Fault(status=503, method="GET", path_contains=PREFIX + "/markets"))
    assert symbols(listed(kalshi, SERIES)) == [TICKER]
    assert len(listings(kalshi)) == 2  # the 503, then the answer


def test_a_refused_listing_is_not_retried(kalshi: KalshiHarness) -> None:
    kalshi.fake.server.inject(Fault(status=400, method="GET", path_contains=PREFIX + "/markets"))
    with pytest.raises(VenueRejected):
        listed(kalshi, SERIES)
    assert len(listings(kalshi)) == 1


# ----------------------------------------------------------------------------- using what was listed
def test_a_listed_market_is_quoted_and_traded_without_fetching_it_again(kalshi: KalshiHarness) -> None:
    fake = kalshi.fake
    fake.add_market(FEB10, price_level_structure="tapered_deci_cent")
    fake.exchange.set_quote(FEB10, D("0.05"), D("0.07"))
    broker = kalshi.broker
    (_, tapered) = listed(kalshi, SERIES)

    quote = run(lambda: broker.quote(tapered))
    assert quote is not None and (quote.bid, quote.ask) == (D("0.05"), D("0.07"))

    def intent(tag: str, price: Decimal) -> OrderIntent:
        return OrderIntent(
            client_order_id=client_order_id_for(f"kalshi-series-{tag}"),
            signal_id=f"kalshi-series-{tag}",
            bot="kalshi-tests",
            instrument=tapered,
            side=Side.BUY,
            quantity=D(3),
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.GTC,
            created_at=kalshi.now(),
            limit_price=price,
        )

    # a sub-cent price is checked against the listed grid: the tail takes $0.001, mid-band does not
    assert run(lambda: broker.submit(intent("tail", D("0.045")))).status is OrderStatus.ACCEPTED
    assert run(lambda: broker.submit(intent("mid", D("0.505")))).status is OrderStatus.REJECTED
    assert single_market_reads(kalshi) == []
    assert len(fake.server.requests_to("POST", "/portfolio/orders")) == 1  # the mid-band one never left
