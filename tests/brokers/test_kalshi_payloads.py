"""The pure Kalshi parsers on payloads in Kalshi's real shapes (prediction-markets.md §1.3-1.8).

Era (a) fixtures are verbatim captures quoted in the reference; era (b) fixtures
carry exactly the fields the reference lists for the current (post 2026-03-12)
format, with the values of the harness market KXHIGHCHI-26FEB09-B38.5.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from brokers.kalshi_payloads import (
    KalshiOrder,
    average_fill_price,
    end_of_day_expiration,
    format_count,
    format_price,
    json_object,
    market_contract,
    order_request,
    order_status,
    parse_balance,
    parse_candlesticks,
    parse_error,
    parse_fills_page,
    parse_market,
    parse_order,
    parse_orderbook,
    parse_orders_page,
    parse_positions_page,
    parse_series_fee_schedule,
    time_in_force,
)
from domain.contract_parsing import ContractMismatch
from domain.contracts import Strike, StrikeType
from domain.fees import KalshiFeeType, kalshi_fee
from domain.orders import OrderStatus, OrderType, TimeInForce
from domain.signals import Side

D = Decimal

# Era (a), transition: verbatim capture of GET /markets?limit=1&series_ticker=KXHIGHCHI (reference §1.3).
ERA_A_MARKETS = r"""
{"cursor":"CgwI3fjHywYQyPfp1QESFEtYSElHSENISS0yNkpBTjIzLVQ1","markets":[{
 "can_close_early":true,"cap_strike":5,"close_time":"2026-01-24T05:59:00Z","created_time":"2026-01-22T10:30:53.448429Z",
 "early_close_condition":"The Last Trading Time will be 11:59 PM ET on January 23, 2026 regardless of any data releases or events occurring. Expiration will occur on the sooner of the first 7:00 or 8:00\nAM ET following the release of the data for January 23, 2026, or one week after January 23, 2026.",
 "event_ticker":"KXHIGHCHI-26JAN23","expected_expiration_time":"2026-01-24T15:00:00Z","expiration_time":"2026-01-30T15:00:00Z",
 "expiration_value":"","last_price":27,"last_price_dollars":"0.2700","latest_expiration_time":"2026-01-30T15:00:00Z",
 "liquidity":271886,"liquidity_dollars":"2718.8600","market_type":"binary","no_ask":74,"no_ask_dollars":"0.7400","no_bid":73,
 "no_bid_dollars":"0.7300","no_sub_title":"4° or below","notional_value":100,"notional_value_dollars":"1.0000",
 "open_interest":2680,"open_interest_fp":"2680.00","open_time":"2026-01-22T15:00:00Z","previous_price":0,
 "previous_price_dollars":"0.0000","previous_yes_ask":0,"previous_yes_ask_dollars":"0.0000","previous_yes_bid":0,
 "previous_yes_bid_dollars":"0.0000","price_level_structure":"linear_cent",
 "price_ranges":[{"end":"1.0000","start":"0.0000","step":"0.0100"}],"response_price_units":"usd_cent","result":"",
 "rules_primary":"If the highest temperature recorded at Chicago Midway, IL for January 23, 2026, is less than 5° according to the National Weather Service's Climatological Report (Daily), then the market resolves to Yes.",
 "rules_secondary":"Not all weather data is the same. ... the official and final value used to determine this market is the highest temperature as reported by the corresponding NWS Climatological Report (Daily) linked in the rules above. ...",
 "settlement_timer_seconds":3600,"status":"active","strike_type":"less","subtitle":"4° or below","tick_size":1,
 "ticker":"KXHIGHCHI-26JAN23-T5","title":"Will the high temp in Chicago be <5° on Jan 23, 2026?","volume":4316,
 "volume_24h":4302,"volume_24h_fp":"4302.00","volume_fp":"4316.00","yes_ask":27,"yes_ask_dollars":"0.2700","yes_bid":26,
 "yes_bid_dollars":"0.2600","yes_sub_title":"4° or below"}]}"""  # noqa: E501

# Era (b), current: the required fields of the 3.34 Market model, dollars and fp strings only.
ERA_B_MARKET: dict[str, Any] = {
    "market": {
        "ticker": "KXHIGHCHI-26FEB09-B38.5",
        "event_ticker": "KXHIGHCHI-26FEB09",
        "market_type": "binary",
        "yes_sub_title": "38° to 39°",
        "no_sub_title": "38° to 39°",
        "created_time": "2026-02-07T15:00:00Z",
        "updated_time": "2026-02-09T14:02:11.512311Z",
        "open_time": "2026-02-08T15:00:00Z",
        "close_time": "2026-02-10T05:59:00Z",
        "latest_expiration_time": "2026-02-17T15:00:00Z",
        "settlement_timer_seconds": 3600,
        "status": "active",
        "yes_bid_dollars": "0.2600",
        "yes_ask_dollars": "0.2800",
        "no_bid_dollars": "0.7200",
        "no_ask_dollars": "0.7400",
        "last_price_dollars": "0.2700",
        "previous_yes_bid_dollars": "0.2100",
        "previous_yes_ask_dollars": "0.2400",
        "previous_price_dollars": "0.2200",
        "notional_value_dollars": "1.0000",
        "yes_bid_size_fp": "120.00",
        "yes_ask_size_fp": "75.00",
        "volume_fp": "4316.00",
        "volume_24h_fp": "4302.00",
        "open_interest_fp": "2680.00",
        "result": "",
        "can_close_early": True,
        "settlement_bounds_type": "default",
        "expiration_value": "",
        "rules_primary": "If the highest temperature recorded at Chicago Midway, IL for February 9, 2026, "
        "is between 38-39° according to the National Weather Service's Climatological Report (Daily), "
        "then the market resolves to Yes.",
        "rules_secondary": "",
        "price_level_structure": "linear_cent",
        "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
        "fractional_trading_enabled": False,
        "strike_type": "between",
        "floor_strike": 38,
        "cap_strike": 39,
    }
}

# Current order book, verbatim from the reference (§1.4): best bids are the last levels.
ORDERBOOK_FP = {
    "orderbook_fp": {
        "yes_dollars": [["0.3500", "200.00"], ["0.4200", "13.00"]],
        "no_dollars": [["0.5400", "400.00"], ["0.5600", "17.00"]],
    }
}

# A current Order (§1.5 field list): a resting buy of 10 YES at 0.20 with 4 filled as maker.
ORDER: dict[str, Any] = {
    "order_id": "ee3d1a8c-6f4e-4c3b-9d0f-5b1e2f3a4c5d",
    "user_id": "7b1c9f2e-0d4a-4e8b-a6c3-2f9e8d7c6b5a",
    "client_order_id": "co-0123456789abcdef0123456789a",
    "ticker": "KXHIGHCHI-26FEB09-B38.5",
    "type": "limit",
    "outcome_side": "yes",
    "book_side": "bid",
    "side": "yes",
    "action": "buy",
    "status": "resting",
    "yes_price_dollars": "0.2000",
    "no_price_dollars": "0.8000",
    "fill_count_fp": "4.00",
    "remaining_count_fp": "6.00",
    "initial_count_fp": "10.00",
    "taker_fill_cost_dollars": "0.0000",
    "maker_fill_cost_dollars": "0.8000",
    "taker_fees_dollars": "0.0000",
    "maker_fees_dollars": "0.0000",
    "expiration_time": None,
    "created_time": "2026-02-09T14:00:00.123456Z",
    "last_update_time": "2026-02-09T14:05:00Z",
    "self_trade_prevention_type": None,
    "order_group_id": None,
    "cancel_order_on_pause": False,
    "subaccount_number": 0,
    "exchange_index": 0,
}

# A current Fill (§1.5): a taker buy of 10 YES at 0.28; fee_cost as a dollar string.
FILL: dict[str, Any] = {
    "fill_id": "a1b2c3d4-0000-4000-8000-000000000001",
    "trade_id": "a1b2c3d4-0000-4000-8000-000000000001",
    "order_id": "ee3d1a8c-6f4e-4c3b-9d0f-5b1e2f3a4c5d",
    "ticker": "KXHIGHCHI-26FEB09-B38.5",
    "market_ticker": "KXHIGHCHI-26FEB09-B38.5",
    "outcome_side": "yes",
    "book_side": "bid",
    "side": "yes",
    "action": "buy",
    "count_fp": "10.00",
    "yes_price_dollars": "0.2800",
    "no_price_dollars": "0.7200",
    "is_taker": True,
    "created_time": "2026-02-09T14:01:02.5Z",
    "ts": 1770645662,
    "fee_cost": "0.1500",
    "exchange_index": 0,
    "subaccount_number": 0,
}


# ----------------------------------------------------------------------------- markets
def test_current_market_gives_cent_tick_whole_lots_and_its_quote() -> None:
    market = parse_market(ERA_B_MARKET)
    assert market.ticker == "KXHIGHCHI-26FEB09-B38.5"
    assert market.event_ticker == "KXHIGHCHI-26FEB09"
    assert market.series_ticker == "KXHIGHCHI"
    assert (market.tick_size, market.lot_size) == (D("0.01"), D(1))
    assert (market.yes_bid, market.yes_ask) == (D("0.26"), D("0.28"))


def test_transition_era_capture_is_read_from_its_dollar_fields() -> None:
    market = parse_market(json.loads(ERA_A_MARKETS)["markets"][0])
    assert market.ticker == "KXHIGHCHI-26JAN23-T5"
    assert market.event_ticker == "KXHIGHCHI-26JAN23"
    assert market.status == "active"
    assert (market.tick_size, market.lot_size) == (D("0.01"), D(1))
    assert (market.yes_bid, market.yes_ask) == (D("0.26"), D("0.27"))


def test_the_contract_of_a_market_comes_from_its_own_strike_fields_in_both_eras() -> None:
    bracket = market_contract("kalshi", ERA_B_MARKET)
    assert bracket.strike == Strike(StrikeType.BETWEEN, floor_strike=D(38), cap_strike=D(39))
    below_5 = market_contract("kalshi", json.loads(ERA_A_MARKETS)["markets"][0])
    assert below_5.strike == Strike(StrikeType.LESS, cap_strike=D(5))  # a T ticker, strike_type less
    assert (below_5.event, below_5.title) == (
        "KXHIGHCHI-26JAN23",
        "Will the high temp in Chicago be <5° on Jan 23, 2026?",
    )


def test_a_market_whose_fields_contradict_its_ticker_is_a_contract_mismatch() -> None:
    fields = {**ERA_B_MARKET["market"], "floor_strike": 40, "cap_strike": 41}
    with pytest.raises(ContractMismatch, match="midpoint"):
        market_contract("kalshi", {"market": fields})


def test_legacy_market_with_only_cents_falls_back_to_them() -> None:
    legacy = {
        "ticker": "KXCPI-26AUG-T0.3",
        "event_ticker": "KXCPI-26AUG",
        "yes_bid": 26,
        "yes_ask": 28,
        "tick_size": 1,
    }
    market = parse_market(legacy)
    assert (market.tick_size, market.yes_bid, market.yes_ask) == (D("0.01"), D("0.26"), D("0.28"))


@pytest.mark.parametrize(
    ("structure", "tick", "valid", "invalid"),
    [
        ("linear_cent", "0.01", ["0.45", "0.01"], ["0.455", "0.05501"]),
        ("deci_cent", "0.001", ["0.455", "0.055"], ["0.4555"]),
        ("tapered_deci_cent", "0.001", ["0.055", "0.955", "0.45", "0.10"], ["0.455", "0.5001"]),
    ],
)
def test_price_level_structure_sets_the_tick_and_the_grid(
    structure: str, tick: str, valid: list[str], invalid: list[str]
) -> None:
    market = parse_market(
        {
            "ticker": "KXBTC-26APR0501-B75750",
            "event_ticker": "KXBTC-26APR0501",
            "price_level_structure": structure,
        }
    )
    assert market.tick_size == D(tick)
    assert all(market.accepts_price(D(p)) for p in valid)
    assert not any(market.accepts_price(D(p)) for p in invalid)


def test_fractional_market_trades_hundredths_of_a_contract() -> None:
    payload = {**ERA_B_MARKET["market"], "fractional_trading_enabled": True}
    assert parse_market(payload).lot_size == D("0.01")


def test_market_without_any_tick_information_is_refused() -> None:
    with pytest.raises(ValueError, match="tick is unknown"):
        parse_market({"ticker": "X-26JAN01-B1", "event_ticker": "X-26JAN01"})


def test_unknown_price_level_structure_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown price_level_structure"):
        parse_market(
            {"ticker": "X-26JAN01-B1", "event_ticker": "X-26JAN01", "price_level_structure": "milli"}
        )


@pytest.mark.parametrize("junk", [[], "market", {"market": {"event_ticker": "X"}}, {"market": []}])
def test_junk_market_payload_raises_value_error(junk: Any) -> None:
    with pytest.raises(ValueError, match="market"):
        parse_market(junk)


# ----------------------------------------------------------------------------- order book
def test_best_yes_bid_is_the_last_level_and_the_ask_is_one_minus_the_best_no_bid() -> None:
    top = parse_orderbook(ORDERBOOK_FP)
    assert top.quote_prices() == (D("0.42"), D("0.44"))


def test_transition_order_book_with_cents_is_read() -> None:
    legacy = {"orderbook": {"yes": [[20, 5], [25, 100]], "no": [[60, 9], [72, 50]]}}
    assert parse_orderbook(legacy).quote_prices() == (D("0.25"), D("0.28"))


def test_transition_order_book_with_dollar_strings_is_read() -> None:
    book = {
        "orderbook": {
            "yes": [[25, 100]],
            "no": [[72, 50]],
            "yes_dollars": [["0.25", 100]],
            "no_dollars": [["0.72", 50]],
        }
    }
    assert parse_orderbook(book).quote_prices() == (D("0.25"), D("0.28"))


@pytest.mark.parametrize(
    "book",
    [
        {"orderbook_fp": {"yes_dollars": [], "no_dollars": [["0.70", "5.00"]]}},  # no bid
        {"orderbook_fp": {"yes_dollars": [["0.30", "5.00"]], "no_dollars": None}},  # no ask
        {"orderbook_fp": {"yes_dollars": [["0.30", "5.00"]]}},  # side absent
        {"orderbook_fp": {"yes_dollars": [["NaN", "5.00"]], "no_dollars": [["0.60", "5.00"]]}},  # NaN bid
        {"orderbook_fp": {"yes_dollars": [["0.0000", "5.00"]], "no_dollars": [["0.60", "5.00"]]}},  # zero bid
        {"orderbook_fp": {"yes_dollars": [["0.30", "5.00"]], "no_dollars": [["1.0000", "5.00"]]}},  # ask of 0
        {"orderbook_fp": {"yes_dollars": [["0.45", "5.00"]], "no_dollars": [["0.60", "5.00"]]}},  # crossed
    ],
)
def test_missing_nan_zero_or_crossed_book_gives_no_quote(book: dict[str, Any]) -> None:
    assert parse_orderbook(book).quote_prices() is None


@pytest.mark.parametrize(
    "junk",
    [
        {"book": {}},
        {"orderbook_fp": {"yes_dollars": "0.30", "no_dollars": []}},
        {"orderbook_fp": {"yes_dollars": [["0.30"]], "no_dollars": []}},
        {"orderbook_fp": {"yes_dollars": [["thirty", "5.00"]], "no_dollars": []}},
    ],
)
def test_junk_order_book_raises_value_error(junk: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="orderbook"):
        parse_orderbook(junk)


# ----------------------------------------------------------------------------- orders
def test_current_order_is_read_with_its_counts_and_direction() -> None:
    order = parse_order({"order": ORDER})
    assert order.order_id == "ee3d1a8c-6f4e-4c3b-9d0f-5b1e2f3a4c5d"
    assert order.client_order_id == "co-0123456789abcdef0123456789a"
    assert order.side is Side.BUY
    assert (order.yes_price, order.initial_count, order.fill_count) == (D("0.20"), D(10), D(4))
    assert average_fill_price(order) == D("0.20")


@pytest.mark.parametrize(
    ("fields", "side"),
    [
        ({"book_side": "bid"}, Side.BUY),
        ({"book_side": "ask"}, Side.SELL),
        ({"side": "yes", "action": "buy"}, Side.BUY),
        ({"side": "yes", "action": "sell"}, Side.SELL),
        ({"side": "no", "action": "buy"}, Side.SELL),  # buying NO is selling YES
        ({"side": "no", "action": "sell"}, Side.BUY),
    ],
)
def test_order_direction_is_towards_yes_or_no(fields: dict[str, str], side: Side) -> None:
    base = {k: v for k, v in ORDER.items() if k not in ("book_side", "outcome_side", "side", "action")}
    assert parse_order({**base, **fields}).side is side


def test_order_without_any_direction_is_refused() -> None:
    base = {k: v for k, v in ORDER.items() if k not in ("book_side", "outcome_side", "side", "action")}
    with pytest.raises(ValueError, match="no direction"):
        parse_order(base)


def _order(status: str, filled: str) -> KalshiOrder:
    return parse_order({**ORDER, "status": status, "fill_count_fp": filled})


@pytest.mark.parametrize(
    ("status", "filled", "immediate", "expected"),
    [
        ("resting", "0.00", False, OrderStatus.ACCEPTED),
        ("resting", "4.00", False, OrderStatus.PARTIALLY_FILLED),
        ("executed", "10.00", False, OrderStatus.FILLED),
        ("canceled", "0.00", False, OrderStatus.CANCELED),
        ("canceled", "4.00", False, OrderStatus.CANCELED),
        ("canceled", "4.00", True, OrderStatus.EXPIRED),  # the rest of an immediate-or-cancel order
        ("pending", "0.00", False, OrderStatus.SUBMITTED),
    ],
)
def test_kalshi_order_status_maps_to_ours(
    status: str, filled: str, immediate: bool, expected: OrderStatus
) -> None:
    assert order_status(_order(status, filled), immediate=immediate) is expected


def test_unknown_order_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown status 'halted'"):
        order_status(_order("halted", "0.00"))


def test_average_fill_price_is_unknown_before_a_fill_and_for_orders_towards_no() -> None:
    assert average_fill_price(_order("resting", "0.00")) is None
    selling = parse_order({**ORDER, "book_side": "ask", "outcome_side": "no", "action": "sell"})
    assert average_fill_price(selling) is None


def test_orders_page_carries_its_cursor_and_an_empty_cursor_ends_the_list() -> None:
    orders, cursor = parse_orders_page({"orders": [ORDER], "cursor": "CgwI3fjH"})
    assert [o.order_id for o in orders] == [ORDER["order_id"]] and cursor == "CgwI3fjH"
    assert parse_orders_page({"orders": [], "cursor": ""}) == ([], None)


# ----------------------------------------------------------------------------- fills
def test_current_fill_is_read_with_its_fee() -> None:
    fills, cursor = parse_fills_page({"fills": [FILL], "cursor": ""})
    (fill,) = fills
    assert cursor is None
    assert (fill.fill_id, fill.order_id, fill.client_order_id) == (FILL["fill_id"], FILL["order_id"], None)
    assert (fill.side, fill.count, fill.yes_price, fill.fee) == (Side.BUY, D(10), D("0.28"), D("0.15"))
    assert fill.time == datetime(2026, 2, 9, 14, 1, 2, 500000, tzinfo=UTC)
    assert fill.is_taker is True


def test_transition_era_fill_with_fixed_price_strings_is_read() -> None:
    transition = {
        "fill_id": "f-1", "trade_id": "f-1", "order_id": "o-1", "ticker": "KXHIGHCHI-26JAN23-T5",
        "market_ticker": "KXHIGHCHI-26JAN23-T5", "side": "no", "action": "buy", "count": 3, "price": 0.73,
        "yes_price": 27, "no_price": 73, "yes_price_fixed": "0.2700", "no_price_fixed": "0.7300",
        "is_taker": False, "created_time": "2026-01-23T16:00:00Z", "ts": 1769184000, "fee_cost": "0.0000",
    }  # fmt: skip
    (fill,), _ = parse_fills_page({"fills": [transition], "cursor": ""})
    assert (fill.side, fill.count, fill.yes_price) == (Side.SELL, D(3), D("0.27"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fee_cost": None}, "fee_cost is missing"),
        ({"count_fp": "0.00"}, "count must be positive"),
        ({"yes_price_dollars": "1.0000"}, r"not inside \(0, 1\)"),
        ({"created_time": "yesterday", "ts": None}, "not an ISO-8601 time"),
    ],
)
def test_junk_fill_raises_value_error(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fills_page({"fills": [{**FILL, **change}]})


# ----------------------------------------------------------------------------- account
def _position(ticker: str, position: str, exposure: str) -> dict[str, Any]:
    return {
        "ticker": ticker,
        "position_fp": position,
        "market_exposure_dollars": exposure,
        "total_traded_dollars": exposure,
        "realized_pnl_dollars": "0.0000",
        "fees_paid_dollars": "0.0000",
        "last_updated_ts": "2026-02-09T14:00:00Z",
    }


def test_positions_are_signed_with_entry_prices_in_yes_terms() -> None:
    payload = {
        "market_positions": [
            _position("KXHIGHCHI-26FEB09-B38.5", "10.00", "2.6000"),
            _position("KXHIGHCHI-26FEB09-B40.5", "-5.00", "3.6000"),
            {"ticker": "KXHIGHCHI-26FEB09-T43", "position_fp": "2.00"},
        ],
        "event_positions": [],
        "cursor": "",
    }  # fmt: skip
    positions, cursor = parse_positions_page(payload)
    assert cursor is None
    assert [(p.quantity, p.average_entry_price) for p in positions] == [
        (D(10), D("0.26")),
        (D(-5), D("0.28")),  # 5 NO at 0.72 each are -5 YES entered at 0.28
        (D(2), None),  # no exposure reported: the entry is unknown
    ]


def test_balance_prefers_dollars_and_falls_back_to_cents() -> None:
    assert parse_balance({"balance": 12_345, "balance_dollars": "250.0000", "updated_ts": 1770645662}) == D(
        250
    )
    assert parse_balance({"balance": 12_345, "portfolio_value": 0}) == D("123.45")
    with pytest.raises(ValueError, match="balance"):
        parse_balance({"portfolio_value": 100})


# ----------------------------------------------------------------------------- fees
def test_series_fee_schedule_prices_an_order_like_the_fee_table() -> None:
    series = {
        "series": {
            "ticker": "KXHIGHCHI",
            "fee_type": "quadratic",
            "fee_multiplier": 1,
            "title": "Highest temperature in Chicago",
        }
    }
    schedule = parse_series_fee_schedule(series)
    assert (schedule.series_ticker, schedule.fee_type, schedule.multiplier) == (
        "KXHIGHCHI",
        KalshiFeeType.QUADRATIC,
        D(1),
    )
    assert schedule.fee(D(10), D("0.50")) == D("0.18")  # 0.175 rounded up
    assert schedule.fee(D(100), D("0.50")) == D("1.75")  # not the float 1.76
    assert schedule.fee(D(100), D("0.50"), maker=True) == D(0)  # quadratic: makers pay nothing


def test_maker_fee_series_charge_makers_a_quarter() -> None:
    series = {"series": {"ticker": "KXFED", "fee_type": "quadratic_with_maker_fees", "fee_multiplier": 1.0}}
    schedule = parse_series_fee_schedule(series)
    assert (
        schedule.fee(D(100), D("0.50"), maker=True)
        == D("0.44")
        == kalshi_fee(D(100), D("0.50"), maker=True, fee_type=KalshiFeeType.QUADRATIC_WITH_MAKER_FEES)
    )


@pytest.mark.parametrize(
    ("series", "message"),
    [
        ({"ticker": "KXHIGHCHI", "fee_type": "tiered", "fee_multiplier": 1}, "unknown fee_type"),
        ({"ticker": "KXHIGHCHI", "fee_type": "quadratic"}, "fee_multiplier is missing"),
    ],
)
def test_junk_fee_schedule_is_refused(series: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_series_fee_schedule({"series": series})


# ----------------------------------------------------------------------------- candlesticks
def _ohlc(open_: str | None, high: str | None, low: str | None, close: str | None) -> dict[str, str | None]:
    return {"open_dollars": open_, "high_dollars": high, "low_dollars": low, "close_dollars": close}


def test_candlesticks_use_trade_prices_and_carry_the_last_price_through_quiet_periods() -> None:
    payload = {
        "ticker": "KXHIGHCHI-26FEB09-B38.5",
        "candlesticks": [
            {
                "end_period_ts": 1770645600,
                "yes_bid": _ohlc("0.2500", "0.2600", "0.2400", "0.2600"),
                "yes_ask": _ohlc("0.2700", "0.2900", "0.2700", "0.2800"),
                "price": {**_ohlc("0.2600", "0.2800", "0.2500", "0.2700"), "previous_dollars": "0.2500"},
                "volume_fp": "120.00",
                "open_interest_fp": "2680.00",
            },
            {
                "end_period_ts": 1770645660,
                "yes_bid": _ohlc("0.2600", "0.2600", "0.2600", "0.2600"),
                "yes_ask": _ohlc("0.2800", "0.2800", "0.2800", "0.2800"),
                "price": {
                    **_ohlc(None, None, None, None),
                    "mean_dollars": None,
                    "previous_dollars": "0.2700",
                },
                "volume_fp": "0.00",
                "open_interest_fp": "2680.00",
            },
        ],
    }
    first, quiet = parse_candlesticks(payload)
    assert (first.end, first.open, first.high, first.low, first.close, first.volume) == (
        1770645600,
        D("0.26"),
        D("0.28"),
        D("0.25"),
        D("0.27"),
        D(120),
    )
    assert (quiet.open, quiet.high, quiet.low, quiet.close, quiet.volume) == (D("0.27"),) * 4 + (D(0),)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("body", "code", "text"),
    [
        (
            '{"error":{"code":"order_already_exists","message":"order already exists","details":"co-1"}}',
            "order_already_exists",
            "order already exists (order_already_exists): co-1",
        ),
        ('{"error":"too many requests"}', None, "too many requests"),
        (
            '{"code":"invalid_parameters","message":"count_fp is required"}',
            "invalid_parameters",
            "count_fp is required",
        ),
        ("<html>502 Bad Gateway</html>", None, "<html>502 Bad Gateway</html>"),
    ],
)
def test_error_bodies_give_the_venue_reason(body: str, code: str | None, text: str) -> None:
    error = parse_error(body)
    assert error.code == code
    assert text in error.describe()


def test_a_non_json_answer_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        json_object(b"<html>maintenance</html>")
    with pytest.raises(ValueError, match="JSON object"):
        json_object(b"[1, 2]")


# ----------------------------------------------------------------------------- requests
def test_order_request_is_the_current_create_order_body() -> None:
    body = order_request(
        ticker="KXHIGHCHI-26FEB09-B38.5",
        client_order_id="co-1",
        side=Side.SELL,
        count=D(10),
        yes_price=D("0.45"),
        time_in_force="good_till_canceled",
    )
    assert body == {
        "ticker": "KXHIGHCHI-26FEB09-B38.5",
        "client_order_id": "co-1",
        "side": "yes",
        "action": "sell",
        "count_fp": "10.00",
        "yes_price_dollars": "0.4500",
        "time_in_force": "good_till_canceled",
    }


def test_prices_and_counts_finer_than_the_wire_allows_are_refused() -> None:
    assert (format_price(D("0.055")), format_count(D("2.5"))) == ("0.0550", "2.50")
    with pytest.raises(ValueError):
        format_price(D("0.12345"))
    with pytest.raises(ValueError):
        format_count(D("1.001"))


@pytest.mark.parametrize(
    ("order_type", "tif", "expected"),
    [
        (OrderType.LIMIT, TimeInForce.GTC, "good_till_canceled"),
        (OrderType.LIMIT, TimeInForce.DAY, "good_till_canceled"),
        (OrderType.LIMIT, TimeInForce.IOC, "immediate_or_cancel"),
        (OrderType.MARKET, TimeInForce.GTC, "immediate_or_cancel"),
    ],
)
def test_time_in_force_mapping(order_type: OrderType, tif: TimeInForce, expected: str) -> None:
    assert time_in_force(order_type, tif) == expected


def test_a_day_order_expires_at_the_next_new_york_midnight() -> None:
    # 2026-02-09 22:30 UTC is 17:30 in New York (EST); midnight there is 05:00 UTC next day
    assert end_of_day_expiration(datetime(2026, 2, 9, 22, 30, tzinfo=UTC)) == int(
        datetime(2026, 2, 10, 5, 0, tzinfo=UTC).timestamp()
    )
    # 03:30 UTC on 2026-07-10 is still 23:30 on the 9th in New York (EDT)
    assert end_of_day_expiration(datetime(2026, 7, 10, 3, 30, tzinfo=UTC)) == int(
        datetime(2026, 7, 10, 4, 0, tzinfo=UTC).timestamp()
    )
