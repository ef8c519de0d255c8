"""Polymarket's payloads, read by the pure parsers in brokers/polymarket_payloads.py.

Fixtures are real shapes: NautilusTrader's captured Polymarket test data
(crates/adapters/polymarket/test_data/, trimmed to the keys that matter) and the field
lists of docs.polymarket.com, as recorded in /work/shared/reference/prediction-markets.md §2.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from py_clob_client_v2.order_builder.builder import ROUNDING_CONFIG, OrderBuilder

from brokers.polymarket_payloads import (
    NO_FEES,
    FeeSchedule,
    OrderRecord,
    best_bid_ask,
    book_time,
    contracts_by_token,
    find_market,
    order_amounts,
    order_status_of,
    our_legs,
    parse_balance,
    parse_cancel,
    parse_gamma_market,
    parse_order,
    parse_order_record,
    parse_post_response,
    parse_price_history,
    parse_trade,
    post_outcome,
    price_history_bars,
    refusal_reason,
    salt_for,
    timestamp_ms,
    token_for,
)
from domain.orders import OrderStatus
from domain.signals import Side
from risk_management.underlying import parse_polymarket_symbol

# gamma_market_live.json (June 2026), trimmed
GAMMA_MARKET_LIVE: dict[str, Any] = {
    "id": "559652",
    "question": "Will Gavin Newsom win the 2028 Democratic presidential nomination?",
    "conditionId": "0x0f49db97f71c68b1e42a6d16e3de93d85dbf7d4148e3f018eb79e88554be9f75",
    "slug": "will-gavin-newsom-win-the-2028-democratic-presidential-nomination-568",
    "endDate": "2028-11-07T00:00:00Z",
    "outcomes": '["Yes", "No"]',
    "outcomePrices": '["0.2325", "0.7675"]',
    "volume": "25814545.294374414",
    "active": True,
    "closed": False,
    "archived": False,
    "enableOrderBook": True,
    "orderPriceMinTickSize": 0.001,
    "orderMinSize": 5,
    "clobTokenIds": (
        '["54533043819946592547517511176940999955633860128497669742211153063842200957669", '
        '"87854174148074652060467921081181402357467303721471806610111179101805869578687"]'
    ),
    "makerBaseFee": 1000,
    "takerBaseFee": 1000,
    "acceptingOrders": True,
    "negRisk": True,
    "negRiskMarketID": "0x2c3d7e0eee6f058be3006baabf0d54a07da254ba47fe6e3e095e7990c7814700",
    "bestBid": 0.232,
    "bestAsk": 0.233,
    "feesEnabled": True,
    "feeType": "politics_fees",
    "feeSchedule": {"exponent": 1, "rate": 0.04, "takerOnly": True, "rebateRate": 0.25},
}
# gamma_market_closed_binary_accepting_false.json, trimmed: no feeSchedule, fees disabled
GAMMA_MARKET_CLOSED: dict[str, Any] = {
    "id": "1460332",
    "question": "Katana FDV above $1B one day after launch?",
    "conditionId": "0x8ccc3f4951ff02c1d34b87988752b4444ad17228732780a6cf22afefe8478bb6",
    "outcomes": '["Yes", "No"]',
    "outcomePrices": '["0", "1"]',
    "active": True,
    "closed": True,
    "enableOrderBook": True,
    "orderPriceMinTickSize": 0.001,
    "orderMinSize": 5,
    "clobTokenIds": (
        '["108872296183993054938831082799825620165440189659433018108548854929333464287226", '
        '"89711174926330519158043401581181146613785179104141808554061413232025882707365"]'
    ),
    "acceptingOrders": False,
    "negRisk": False,
    "feesEnabled": False,
    "feeType": None,
}
# clob_book_response.json plus the keys py-clob-client-v2's parse_raw_orderbook_summary indexes
BOOK: dict[str, Any] = {
    "market": "0xc8f1cf5d4f26e0fd9c8fe89f2a7b3263b902cf14fde7bfccef525753bb492e47",
    "asset_id": "12345678901234567890",
    "hash": "0xabc123",
    "timestamp": "1703875200000",
    "bids": [
        {"price": "0.48", "size": "100.00"},
        {"price": "0.50", "size": "150.00"},
        {"price": "0.49", "size": "200.00"},
    ],
    "asks": [
        {"price": "0.53", "size": "90.00"},
        {"price": "0.51", "size": "120.00"},
        {"price": "0.52", "size": "180.00"},
    ],
    "min_order_size": "5",
    "tick_size": "0.01",
    "neg_risk": False,
    "last_trade_price": "0.50",
}
# http_open_order.json
OPEN_ORDER: dict[str, Any] = {
    "associate_trades": ["0xabc001"],
    "id": "0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef",
    "status": "LIVE",
    "market": "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917",
    "original_size": "100.0000",
    "outcome": "Yes",
    "maker_address": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    "owner": "00000000-0000-0000-0000-000000000001",
    "price": "0.5000",
    "side": "BUY",
    "size_matched": "25.0000",
    "asset_id": "71321045679252212594626385532706912750332728571942532289631379312455583992563",
    "expiration": None,
    "order_type": "GTC",
    "created_at": 1703875200,
}
# http_trade_report.json: we are the taker; two makers
TRADE_REPORT: dict[str, Any] = {
    "id": "trade-0xabcdef1234",
    "taker_order_id": "0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef12",
    "market": "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917",
    "asset_id": "71321045679252212594626385532706912750332728571942532289631379312455583992563",
    "side": "BUY",
    "size": "25.0000",
    "fee_rate_bps": "0",
    "price": "0.5000",
    "status": "CONFIRMED",
    "match_time": "2024-01-01T00:00:00Z",
    "last_update": "2024-01-01T00:01:00Z",
    "outcome": "Yes",
    "bucket_index": 0,
    "owner": "00000000-0000-0000-0000-000000000001",
    "maker_address": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    "transaction_hash": "0xabcdef1234567890abcdef1234567890abcdef1234567890abcdef1234567890ab",
    "maker_orders": [
        {
            "asset_id": "71321045679252212594626385532706912750332728571942532289631379312455583992563",
            "fee_rate_bps": "0",
            "maker_address": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
            "matched_amount": "20.0000",
            "order_id": "0xmaker01",
            "outcome": "Yes",
            "owner": "00000000-0000-0000-0000-000000000002",
            "price": "0.5000",
        },
        {
            "asset_id": "71321045679252212594626385532706912750332728571942532289631379312455583992563",
            "fee_rate_bps": "10",
            "maker_address": "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
            "matched_amount": "5.0000",
            "order_id": "0xmaker02",
            "outcome": "Yes",
            "owner": "00000000-0000-0000-0000-000000000003",
            "price": "0.5000",
        },
    ],
    "trader_side": "TAKER",
}
OUR_KEY = "00000000-0000-0000-0000-000000000002"


def _record(**overrides: object) -> OrderRecord:
    fields: dict[str, object] = {
        "client_order_id": "co-0123456789abcdef0123456789abc",
        "order_id": "0x" + "ab" * 32,
        "instrument_key": "pm:0x" + "cd" * 32 + ":YES",
        "token_id": "71321045679252212594626385532706912750332728571942532289631379312455583992563",
        "side": Side.BUY,
        "price": Decimal("0.40"),
        "size": Decimal("10"),
        "order_type": "GTC",
        "salt": 123456789,
        "timestamp_ms": 1_772_000_000_123,
        "neg_risk": False,
    }
    fields.update(overrides)
    return OrderRecord(**fields)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- Gamma markets
def test_gamma_market_reads_json_encoded_outcomes_and_the_order_constraints() -> None:
    market = parse_gamma_market(GAMMA_MARKET_LIVE)
    assert market.condition_id == GAMMA_MARKET_LIVE["conditionId"]
    assert market.outcomes == ("Yes", "No")
    assert market.token_ids[0].startswith("5453304381994659")
    assert market.tick_size == Decimal("0.001")
    assert market.min_size == Decimal("5")
    assert market.neg_risk is True
    assert market.fees == FeeSchedule(Decimal("0.04"), Decimal("1"))
    assert refusal_reason(market) is None


def test_yes_is_the_first_token_and_no_the_second() -> None:
    market = parse_gamma_market(GAMMA_MARKET_LIVE)
    condition = market.condition_id
    assert token_for(parse_polymarket_symbol(f"{condition}:YES"), market) == (market.token_ids[0], "Yes")
    assert token_for(parse_polymarket_symbol(f"{condition}:NO"), market) == (market.token_ids[1], "No")
    by_token = parse_polymarket_symbol(f"{condition}:{market.token_ids[1]}")
    assert token_for(by_token, market) == (market.token_ids[1], "No")


def test_a_bare_condition_id_names_no_outcome() -> None:
    market = parse_gamma_market(GAMMA_MARKET_LIVE)
    with pytest.raises(ValueError, match="names a market, not an outcome"):
        token_for(parse_polymarket_symbol(market.condition_id), market)


def test_a_closed_market_not_accepting_orders_is_refused_and_charges_no_fees() -> None:
    market = parse_gamma_market(GAMMA_MARKET_CLOSED)
    assert refusal_reason(market) == "the market is closed"
    assert parse_gamma_market(GAMMA_MARKET_CLOSED | {"closed": False}).accepting_orders is False
    assert refusal_reason(parse_gamma_market(GAMMA_MARKET_CLOSED | {"closed": False})) == (
        "the market is not accepting orders"
    )
    assert market.fees == NO_FEES


def test_fees_enabled_without_a_schedule_is_unknown_not_zero() -> None:
    payload = {k: v for k, v in GAMMA_MARKET_LIVE.items() if k != "feeSchedule"}
    assert parse_gamma_market(payload).fees is None


@pytest.mark.parametrize(
    "change",
    [
        {"outcomes": "Yes, No"},
        {"clobTokenIds": '["1"]'},
        {"orderPriceMinTickSize": "a penny"},
        {"orderPriceMinTickSize": 0},
        {"conditionId": ""},
    ],
)
def test_a_junk_gamma_market_is_a_value_error(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        parse_gamma_market(GAMMA_MARKET_LIVE | change)


def test_each_outcome_token_of_a_gamma_market_has_its_contract() -> None:
    yes_token, no_token = parse_gamma_market(GAMMA_MARKET_LIVE).token_ids
    contracts = contracts_by_token("polymarket", GAMMA_MARKET_LIVE)
    assert list(contracts) == [yes_token, no_token]
    condition = GAMMA_MARKET_LIVE["conditionId"]
    assert (contracts[yes_token].outcome, contracts[no_token].outcome) == ("Yes", "No")
    assert contracts[no_token].ticker == f"{condition}:{no_token}"
    assert contracts[yes_token].underlying == condition


def test_a_gamma_market_that_is_no_contract_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="conditionId"):
        contracts_by_token("polymarket", GAMMA_MARKET_LIVE | {"conditionId": "0x1234"})


def test_the_market_is_picked_from_a_gamma_answer_by_condition_id() -> None:
    answer = [GAMMA_MARKET_CLOSED, GAMMA_MARKET_LIVE]
    assert find_market(answer, GAMMA_MARKET_LIVE["conditionId"].upper()) is GAMMA_MARKET_LIVE
    assert find_market([], "0x00") is None
    with pytest.raises(ValueError):
        find_market({"error": "bad request"}, "0x00")


# ----------------------------------------------------------------------------- books, history, balances
def test_best_bid_and_ask_come_from_unsorted_levels() -> None:
    assert best_bid_ask(BOOK) == (Decimal("0.50"), Decimal("0.51"))
    assert book_time(BOOK) == datetime(2023, 12, 29, 18, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    "change",
    [
        {"asks": []},
        {"bids": []},
        {"asks": [{"price": "NaN", "size": "10"}]},
        {"bids": [{"price": "0", "size": "10"}]},
        {"bids": [{"price": "0.60", "size": "10"}]},  # crossed: bid above the 0.51 ask
        {"asks": [{"price": "0.51", "size": "0"}]},  # no size: no ask
    ],
)
def test_an_unusable_book_gives_no_quote(change: dict[str, object]) -> None:
    assert best_bid_ask(BOOK | change) is None


def test_a_junk_book_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a number"):
        best_bid_ask(BOOK | {"asks": [{"price": "cheap", "size": "10"}]})
    with pytest.raises(ValueError):
        best_bid_ask(BOOK | {"bids": "0.5"})


def test_balances_are_in_millionths() -> None:
    # http_balance_allowance_collateral.json and _conditional.json
    assert parse_balance({"balance": "1000000000", "allowance": "999999999000000"}) == Decimal("1000")
    assert parse_balance({"balance": "0", "allowances": {"0xaaaa": "1"}}) == 0
    with pytest.raises(ValueError):
        parse_balance({"balance": "12.5"})
    with pytest.raises(ValueError):
        parse_balance({"allowance": "1"})


def test_price_history_bars_are_built_from_samples_and_leave_out_the_forming_bar() -> None:
    points = parse_price_history(
        {"history": [{"t": 1200, "p": 0.52}, {"t": 0, "p": 0.5}, {"t": 60, "p": 0.51}, {"t": 90, "p": 0.53}]}
    )
    bars = price_history_bars("pm:X", points, 60, 10, now=1210)
    assert bars is not None
    assert list(bars.times) == [0.0, 60.0]
    assert list(bars.close) == [0.5, 0.53]
    assert (bars.open[1], bars.high[1], bars.low[1]) == (0.51, 0.53, 0.51)
    assert list(bars.volume) == [0.0, 0.0]
    assert price_history_bars("pm:X", [], 60, 10, now=1210) is None
    with pytest.raises(ValueError):
        parse_price_history({"history": [{"t": 1, "p": 1.5}]})


# ----------------------------------------------------------------------------- orders we sign
def test_order_amounts_are_exact_and_match_the_sdk_rounding() -> None:
    assert order_amounts(Side.BUY, Decimal("10"), Decimal("0.40")) == (4_000_000, 10_000_000)
    assert order_amounts(Side.SELL, Decimal("10"), Decimal("0.40")) == (10_000_000, 4_000_000)
    sdk = OrderBuilder(signer=None)
    for tick, size, price in (
        ("0.01", "7.33", "0.07"),
        ("0.001", "12.34", "0.123"),
        ("0.0001", "5.01", "0.9999"),
    ):
        for side in (Side.BUY, Side.SELL):
            _, maker, taker = sdk.get_order_amounts(
                side.value.upper(), float(size), float(price), ROUNDING_CONFIG[tick]
            )
            assert order_amounts(side, Decimal(size), Decimal(price)) == (maker, taker)


def test_order_amounts_refuse_what_does_not_fit_six_decimals() -> None:
    with pytest.raises(ValueError, match="more than 6 decimals"):
        order_amounts(Side.BUY, Decimal("10.001"), Decimal("0.00001"))


def test_the_salt_is_a_pure_function_of_the_client_order_id() -> None:
    assert salt_for("co-abc") == salt_for("co-abc")
    assert salt_for("co-abc") != salt_for("co-abd")
    assert 0 < salt_for("co-abc") < 10**12


def test_the_order_timestamp_is_the_creation_time_in_exact_milliseconds() -> None:
    assert timestamp_ms(datetime(2026, 3, 2, 14, 30, 0, 123_456, tzinfo=UTC)) == 1_772_461_800_123


def test_an_order_record_survives_its_ledger_line() -> None:
    record = _record(side=Side.SELL, order_type="FAK", neg_risk=True)
    assert parse_order_record(copy.deepcopy(record.to_json())) == record
    with pytest.raises(ValueError):
        parse_order_record(record.to_json() | {"order_type": "DAY"})
    with pytest.raises(ValueError):
        parse_order_record({"client_order_id": "x"})


# ----------------------------------------------------------------------------- POST /order answers
def test_a_resting_order_answer_is_accepted() -> None:
    # http_order_response_ok.json ("delayed": marketable, matching delayed)
    result = parse_post_response(
        {
            "errorMsg": "",
            "orderID": "0x" + "11" * 32,
            "takingAmount": "",
            "makingAmount": "",
            "status": "delayed",
            "success": True,
        }
    )
    assert post_outcome(result, Side.BUY, Decimal(10), "GTC") == (OrderStatus.ACCEPTED, Decimal(0), None)


def test_a_matched_buy_reads_shares_from_taking_and_price_from_the_ratio() -> None:
    # a live capture: a BUY that matched 5.609755 shares for 4.599999 pUSD
    result = parse_post_response(
        {
            "status": "matched",
            "success": True,
            "orderID": "0x847bf2533bd18fdf08a2ff7771be59068b7d5eb6a33d9ffe21d52e374ba7fe17",
            "makingAmount": "4.599999",
            "takingAmount": "5.609755",
        }
    )
    status, filled, average = post_outcome(result, Side.BUY, Decimal("5.60"), "FAK")
    assert (status, filled) == (OrderStatus.FILLED, Decimal("5.609755"))
    assert average == Decimal("4.599999") / Decimal("5.609755")


def test_a_fak_that_matched_in_part_is_done_with_the_rest_canceled() -> None:
    result = parse_post_response(
        {"success": True, "orderID": "0x01", "status": "matched", "makingAmount": "4", "takingAmount": "2"}
    )
    assert post_outcome(result, Side.SELL, Decimal(10), "FAK") == (
        OrderStatus.CANCELED,
        Decimal(4),
        Decimal("0.5"),
    )
    assert post_outcome(result, Side.SELL, Decimal(10), "GTC")[0] is OrderStatus.PARTIALLY_FILLED


def test_an_answer_without_a_status_is_read_from_its_amounts() -> None:
    # http_order_response_trade_ids_only.json
    result = parse_post_response(
        {
            "success": True,
            "orderID": "0xfedcba98",
            "errorMsg": None,
            "tradeIDs": ["trade-0x101", "trade-0x102"],
        }
    )
    assert post_outcome(result, Side.BUY, Decimal(10), "GTC")[0] is OrderStatus.ACCEPTED


def test_a_refused_order_answer_carries_the_venue_reason() -> None:
    # http_order_response_failed.json
    result = parse_post_response({"success": False, "orderID": None, "errorMsg": "Insufficient balance"})
    assert (result.success, result.error, result.order_id) == (False, "Insufficient balance", None)
    with pytest.raises(ValueError, match="Insufficient balance"):
        post_outcome(result, Side.BUY, Decimal(10), "GTC")
    with pytest.raises(ValueError):
        parse_post_response({"orderID": "0x01"})


# ----------------------------------------------------------------------------- orders as the venue shows them
def test_an_open_order_is_partially_filled_with_decimal_share_sizes() -> None:
    order = parse_order(OPEN_ORDER)
    assert (order.original_size, order.size_matched, order.price) == (
        Decimal(100),
        Decimal(25),
        Decimal("0.5"),
    )
    assert order.remaining == Decimal(75)
    assert order_status_of(order) is OrderStatus.PARTIALLY_FILLED


@pytest.mark.parametrize(
    ("status", "matched", "order_type", "expected"),
    [
        ("LIVE", "0", "GTC", OrderStatus.ACCEPTED),
        ("ORDER_STATUS_LIVE", "0", "GTC", OrderStatus.ACCEPTED),
        ("MATCHED", "100", "GTC", OrderStatus.FILLED),
        ("MATCHED", "40", "FAK", OrderStatus.CANCELED),
        ("CANCELED", "0", "GTC", OrderStatus.CANCELED),
        ("CANCELED", "10", "GTC", OrderStatus.CANCELED),
        ("CANCELED", "0", "FAK", OrderStatus.EXPIRED),
        ("CANCELED_MARKET_RESOLVED", "0", "GTC", OrderStatus.CANCELED),
        ("INVALID", "0", "GTC", OrderStatus.CANCELED),
        ("UNMATCHED", "0", "FOK", OrderStatus.EXPIRED),
    ],
)
def test_order_status_mapping(status: str, matched: str, order_type: str, expected: OrderStatus) -> None:
    order = parse_order(OPEN_ORDER | {"status": status, "size_matched": matched, "order_type": order_type})
    assert order_status_of(order) is expected


def test_an_undocumented_order_status_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="does not document"):
        order_status_of(parse_order(OPEN_ORDER | {"status": "PAUSED"}))


def test_a_cancel_answer_lists_what_was_and_was_not_canceled() -> None:
    # http_cancel_response_ok / _failed
    assert parse_cancel({"canceled": ["0xAB"], "not_canceled": {}}) == (["0xab"], {})
    refused = {"canceled": [], "not_canceled": {"0xb816": "already canceled or matched"}}
    assert parse_cancel(refused) == ([], {"0xb816": "already canceled or matched"})


# ----------------------------------------------------------------------------- trades
def test_a_taker_trade_is_one_leg_at_the_trade_price() -> None:
    trade = parse_trade(TRADE_REPORT)
    assert trade.time == datetime(2024, 1, 1, tzinfo=UTC)
    legs = our_legs(trade, "00000000-0000-0000-0000-000000000001", frozenset(), lambda order_id: False)
    assert [(leg.side, leg.size, leg.price, leg.maker) for leg in legs] == [
        (Side.BUY, Decimal(25), Decimal("0.5"), False)
    ]
    assert legs[0].venue_trade_id == "trade-0xabcdef1234"


def test_as_maker_only_our_maker_orders_count_and_they_sold_to_the_buyer() -> None:
    trade = parse_trade(TRADE_REPORT | {"trader_side": "MAKER", "match_time": "1704067200"})
    legs = our_legs(trade, OUR_KEY, frozenset(), lambda order_id: False)
    assert [(leg.order_id, leg.side, leg.size, leg.maker) for leg in legs] == [
        ("0xmaker01", Side.SELL, Decimal(20), True)
    ]
    assert legs[0].venue_trade_id == "trade-0xabcdef1234:0xmaker01"
    assert trade.time == datetime(2024, 1, 1, tzinfo=UTC)


def test_a_maker_on_the_other_token_trades_on_the_takers_side() -> None:
    # a BUY of YES can match a BUY of NO (the exchange mints the pair)
    maker = TRADE_REPORT["maker_orders"][0] | {"asset_id": "999", "price": "0.5"}
    trade = parse_trade(TRADE_REPORT | {"trader_side": "MAKER", "maker_orders": [maker]})
    assert trade.makers[0][0].side is Side.BUY


def test_a_failed_trade_is_marked_failed() -> None:
    assert parse_trade(TRADE_REPORT | {"status": "FAILED"}).failed


@pytest.mark.parametrize(
    "change", [{"side": "HOLD"}, {"size": "lots"}, {"match_time": "yesterday"}, {"maker_orders": "0x"}]
)
def test_a_junk_trade_is_a_value_error(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        parse_trade(TRADE_REPORT | change)
