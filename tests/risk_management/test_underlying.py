from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.instruments import AssetClass
from domain.signals import Side
from risk_management.underlying import (
    Interval,
    MalformedSymbol,
    MarketStrike,
    Outcome,
    Stance,
    StrikeType,
    canonical_forex_pair,
    complement,
    contradicts,
    stance_for,
    underlying_of,
)

PREDICTION = AssetClass.PREDICTION
CONDITION = "0x" + "3f" * 32
OTHER_CONDITION = "0x" + "a0" * 32


def above(strike: str) -> MarketStrike:
    return MarketStrike(StrikeType.GREATER, floor_strike=Decimal(strike))


def below(strike: str) -> MarketStrike:
    return MarketStrike(StrikeType.LESS, cap_strike=Decimal(strike))


def bracket(floor: str, cap: str) -> MarketStrike:
    return MarketStrike(StrikeType.BETWEEN, floor_strike=Decimal(floor), cap_strike=Decimal(cap))


def kalshi(ticker: str, outcome: Outcome, strike: MarketStrike, side: Side = Side.BUY) -> Stance:
    return stance_for(ticker, PREDICTION, side, outcome=outcome, strike=strike)


YES, NO = Outcome.YES, Outcome.NO


# -- Kalshi tickers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ticker", "event"),
    [
        ("KXHIGHCHI-26FEB09-B38.5", "KXHIGHCHI-26FEB09"),
        ("KXHIGHCHI-26FEB09-T40", "KXHIGHCHI-26FEB09"),
        ("KXHIGHNY-26JAN23-T40", "KXHIGHNY-26JAN23"),
        ("KXHIGHCHI-26JAN23-T5", "KXHIGHCHI-26JAN23"),
        ("KXCPI-26AUG-T0.3", "KXCPI-26AUG"),
        ("KXCPIYOY-26JUN-T3.9", "KXCPIYOY-26JUN"),
        ("KXBTC-26APR0501-B75750", "KXBTC-26APR0501"),
        ("KXFED-27APR-T4.25", "KXFED-27APR"),
        ("KXGDP-26JUL30-T2.0", "KXGDP-26JUL30"),
    ],
)
def test_kalshi_market_ticker_maps_to_its_event(ticker: str, event: str) -> None:
    assert underlying_of(ticker, PREDICTION) == event


@pytest.mark.parametrize(
    ("ticker", "event"),
    [
        ("KXFEDDECISION-27APR-H25", "KXFEDDECISION-27APR"),
        ("KXFEDDECISION-27APR-C25", "KXFEDDECISION-27APR"),
        ("KXFEDDECISION-27APR-H0", "KXFEDDECISION-27APR"),
        ("KXHIGHCHI-26FEB09-G100", "KXHIGHCHI-26FEB09"),
        ("KXHIGHCHI-26FEB09-38.5", "KXHIGHCHI-26FEB09"),  # a plain number
        ("KXNFLGAME-25SEP07DALPHI-DAL", "KXNFLGAME-25SEP07DALPHI"),  # a team code
    ],
)
def test_kalshi_tokens_beyond_brackets_and_thresholds_map_to_their_event(ticker: str, event: str) -> None:
    assert underlying_of(ticker, PREDICTION) == event


@pytest.mark.parametrize(
    "ticker",
    [
        "KXHIGHCHI-26FEB09-B",  # no strike number
        "KXFEDDECISION-27APR-H",
        "KXFEDDECISION-27APR-H2.5",  # basis points are whole
        "KXHIGHCHI-26FEB09-X5",  # a letter that is no strike kind
        "KXHIGHCHI-26FEB30-B38.5",  # no such day
        "KXHIGHCHI-26FOO09-B38.5",  # no such month
        "KXBTC-26APR0525-B75750",  # no such hour
        "KXHIGHCHI-26FEB09-T4.2.5",
        "KXHIGHCHI-26FEB09",  # an event, not a market
        "KXHIGHCHI-FEB09-B38.5",  # date token without its year
        "kxhighchi-26feb09-b38.5",
        "not a ticker",
        "KXHIGHCHI-26FEB09-B38.5-EXTRA",
    ],
)
def test_malformed_kalshi_ticker_is_refused_naming_the_symbol(ticker: str) -> None:
    with pytest.raises(MalformedSymbol, match="Kalshi market ticker") as caught:
        underlying_of(ticker, PREDICTION)
    assert repr(ticker) in str(caught.value)
    assert caught.value.symbol == ticker


@given(
    series=st.from_regex(r"KX[A-Z]{1,8}", fullmatch=True),
    date=st.sampled_from(["26FEB09", "26AUG", "26APR0501", "27APR"]),
    kind=st.sampled_from(["B", "T"]),
    number=st.decimals(min_value=0, max_value=100_000, places=2),
)
def test_any_well_formed_kalshi_ticker_maps_to_series_dash_date(
    series: str, date: str, kind: str, number: Decimal
) -> None:
    assert underlying_of(f"{series}-{date}-{kind}{number}", PREDICTION) == f"{series}-{date}"


# -- Polymarket ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "symbol",
    [
        CONDITION,
        CONDITION.upper().replace("0X", "0x"),
        f"{CONDITION}:YES",
        f"{CONDITION}:no",
        f"{CONDITION}:5453",
    ],
)
def test_polymarket_market_and_its_outcome_tokens_share_the_condition_id(symbol: str) -> None:
    assert underlying_of(symbol, PREDICTION) == CONDITION


@pytest.mark.parametrize(
    "symbol",
    [
        "0x" + "3f" * 31 + "3",  # 63 hex digits
        "0x" + "3f" * 32 + "0",  # 65
        "0x" + "zz" * 32,
        f"{CONDITION}:MAYBE",
        "54536172937485930284756372819283746561728394857612",  # a bare token id names no condition
    ],
)
def test_malformed_polymarket_symbol_is_refused_naming_the_symbol(symbol: str) -> None:
    with pytest.raises(MalformedSymbol, match="Polymarket condition id") as caught:
        underlying_of(symbol, PREDICTION)
    assert repr(symbol) in str(caught.value)


# -- forex, crypto, stocks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", ["EUR_USD", "EUR/USD", "EURUSD", "eur-usd", "USD_EUR", "usd/eur"])
def test_forex_spellings_and_the_inverted_pair_are_one_underlying(symbol: str) -> None:
    assert underlying_of(symbol, AssetClass.FOREX) == "EUR/USD"


def test_forex_pair_reports_whether_it_is_written_the_conventional_way_round() -> None:
    assert canonical_forex_pair("EUR_USD") == ("EUR/USD", 1)
    assert canonical_forex_pair("USD_EUR") == ("EUR/USD", -1)
    assert canonical_forex_pair("JPY/USD") == ("USD/JPY", -1)
    assert canonical_forex_pair("GBPJPY") == ("GBP/JPY", 1)
    assert canonical_forex_pair("USD/XAU") == ("XAU/USD", -1)


CURRENCIES = ["EUR", "GBP", "AUD", "NZD", "USD", "CAD", "CHF", "JPY", "MXN", "SEK", "XAU"]


@given(
    pair=st.lists(st.sampled_from(CURRENCIES), min_size=2, max_size=2, unique=True),
    separator=st.sampled_from(["", "_", "/", "-"]),
)
def test_a_pair_and_its_inverse_are_one_underlying_in_opposite_directions(
    pair: list[str], separator: str
) -> None:
    base, quote = pair
    forward = canonical_forex_pair(f"{base}{separator}{quote}")
    inverse = canonical_forex_pair(f"{quote}{separator}{base}".lower())
    assert forward[0] == inverse[0]
    assert forward[1] == -inverse[1]


@pytest.mark.parametrize("symbol", ["EUR/EUR", "EURO/USD", "EU_USD", "EUR_USD_X", "", "€/$"])
def test_malformed_forex_pair_is_refused(symbol: str) -> None:
    with pytest.raises(MalformedSymbol) as caught:
        underlying_of(symbol, AssetClass.FOREX)
    assert repr(symbol) in str(caught.value)


@pytest.mark.parametrize(
    ("symbol", "underlying"),
    [
        ("BTC/USD", "BTC"),
        ("BTC-USD", "BTC"),
        ("btc_usdt", "BTC"),
        ("BTCUSDT", "BTC"),
        ("BTCFDUSD", "BTC"),
        ("XBTUSD", "BTC"),
        ("XBT/EUR", "BTC"),
        ("BTC", "BTC"),
        ("ETH/USDC", "ETH"),
        ("ETHUSDC", "ETH"),
        ("ETH/BTC", "ETH"),
        ("BTC-USD-SWAP", "BTC"),
        ("SOLUSD", "SOL"),
        ("STETH", "STETH"),  # not ST quoted in ETH: run-together pairs split on fiat and stablecoins only
        ("FDUSD", "FDUSD"),  # a stablecoin on its own, not FD quoted in USD
        ("BNBUSD", "BNB"),
        ("BTC/TUSD", "BTC"),
    ],
)
def test_crypto_spellings_map_to_the_base_asset(symbol: str, underlying: str) -> None:
    assert underlying_of(symbol, AssetClass.CRYPTO) == underlying


@pytest.mark.parametrize("symbol", ["", "BTC/", "BTC USD", "BTC/US$", "A/B/C/D"])
def test_malformed_crypto_symbol_is_refused(symbol: str) -> None:
    with pytest.raises(MalformedSymbol) as caught:
        underlying_of(symbol, AssetClass.CRYPTO)
    assert repr(symbol) in str(caught.value)


@pytest.mark.parametrize(
    ("symbol", "underlying"),
    [("AAPL", "AAPL"), ("spy", "SPY"), ("BRK.B", "BRK.B"), ("BRK-B", "BRK.B"), ("brk/b", "BRK.B")],
)
def test_stock_symbol_is_upper_cased_with_one_share_class_spelling(symbol: str, underlying: str) -> None:
    assert underlying_of(symbol, AssetClass.STOCK) == underlying


@pytest.mark.parametrize("symbol", ["", "AAPL!", "BRK.B.C", "TOOLONGTICKER", "BRK.123"])
def test_malformed_stock_symbol_is_refused(symbol: str) -> None:
    with pytest.raises(MalformedSymbol) as caught:
        underlying_of(symbol, AssetClass.STOCK)
    assert repr(symbol) in str(caught.value)


def test_malformed_symbol_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="expected"):
        underlying_of("", AssetClass.STOCK)


# -- directional stances ------------------------------------------------------------------------------------


def test_buying_is_long_and_selling_short_the_underlying() -> None:
    assert stance_for("brk-b", AssetClass.STOCK, Side.BUY) == Stance("BRK.B", 1, asset_class=AssetClass.STOCK)
    assert stance_for("BTCUSDT", AssetClass.CRYPTO, Side.SELL) == Stance(
        "BTC", -1, asset_class=AssetClass.CRYPTO
    )


def test_buying_the_inverted_forex_pair_is_short_the_conventional_one() -> None:
    fx = AssetClass.FOREX
    assert stance_for("USD_EUR", fx, Side.BUY) == Stance("EUR/USD", -1, asset_class=fx)
    assert stance_for("USD_EUR", fx, Side.SELL) == Stance("EUR/USD", 1, asset_class=fx)


def test_long_eur_usd_contradicts_long_usd_eur_but_not_short_usd_eur() -> None:
    long_eur = stance_for("EUR_USD", AssetClass.FOREX, Side.BUY)
    assert contradicts(long_eur, stance_for("USD/EUR", AssetClass.FOREX, Side.BUY))
    assert not contradicts(long_eur, stance_for("USD/EUR", AssetClass.FOREX, Side.SELL))
    assert not contradicts(long_eur, stance_for("EURUSD", AssetClass.FOREX, Side.BUY))


def test_opposite_positions_on_two_spellings_of_one_coin_contradict() -> None:
    long_btc = stance_for("BTC/USD", AssetClass.CRYPTO, Side.BUY)
    assert contradicts(long_btc, stance_for("XBTUSDT", AssetClass.CRYPTO, Side.SELL))
    assert not contradicts(long_btc, stance_for("ETH/USD", AssetClass.CRYPTO, Side.SELL))


def test_a_stock_ticker_and_a_coin_of_the_same_letters_are_different_underlyings() -> None:
    # BTC is also a stock ticker (an ETF), ETH a stock ticker too: a short of the stock beside a
    # long of the coin is a hedge, not a contradiction of one bet
    assert underlying_of("BTC", AssetClass.STOCK) == underlying_of("BTC/USD", AssetClass.CRYPTO) == "BTC"
    long_coin = stance_for("BTC/USD", AssetClass.CRYPTO, Side.BUY)
    assert not contradicts(long_coin, stance_for("BTC", AssetClass.STOCK, Side.SELL))
    assert contradicts(long_coin, stance_for("BTC-USD", AssetClass.CRYPTO, Side.SELL))


def test_outcome_or_strike_on_a_directional_instrument_is_refused() -> None:
    with pytest.raises(ValueError, match="prediction markets only"):
        stance_for("SPY", AssetClass.STOCK, Side.BUY, outcome=YES)


# -- Kalshi stances -----------------------------------------------------------------------------------------

EVENT = "KXHIGHCHI-26FEB09"


def test_issue_example_no_above_38_5_and_yes_above_40_5_contradict() -> None:
    no_above_38_5 = kalshi(f"{EVENT}-T38.5", NO, above("38.5"))
    yes_above_40_5 = kalshi(f"{EVENT}-T40.5", YES, above("40.5"))
    assert (no_above_38_5.direction, yes_above_40_5.direction) == (-1, 1)
    assert contradicts(yes_above_40_5, no_above_38_5)


def test_nested_thresholds_in_the_other_direction_also_contradict() -> None:
    # YES above 38.5 with NO above 40.5 locks in a dollar whatever the high: stake cancelling stake
    assert contradicts(
        kalshi(f"{EVENT}-T38.5", YES, above("38.5")), kalshi(f"{EVENT}-T40.5", NO, above("40.5"))
    )


@pytest.mark.parametrize("outcome", [YES, NO])
def test_nested_thresholds_held_the_same_way_do_not_contradict(outcome: Outcome) -> None:
    assert not contradicts(
        kalshi(f"{EVENT}-T38.5", outcome, above("38.5")), kalshi(f"{EVENT}-T40.5", outcome, above("40.5"))
    )


def test_yes_below_a_low_tail_contradicts_yes_above_a_high_tail() -> None:
    yes_below = kalshi("KXHIGHCHI-26JAN23-T5", YES, below("5"))
    assert yes_below.direction == -1
    assert contradicts(yes_below, kalshi("KXHIGHCHI-26JAN23-T12", YES, above("12")))
    assert not contradicts(
        kalshi("KXHIGHCHI-26JAN23-T5", NO, below("5")), kalshi("KXHIGHCHI-26JAN23-T12", YES, above("12"))
    )


def test_selling_yes_is_taken_as_holding_no() -> None:
    sold_yes = kalshi(f"{EVENT}-T40.5", YES, above("40.5"), side=Side.SELL)
    assert sold_yes == kalshi(f"{EVENT}-T40.5", NO, above("40.5"))
    assert contradicts(sold_yes, kalshi(f"{EVENT}-T38.5", YES, above("38.5")))


def test_the_same_threshold_on_another_event_never_contradicts() -> None:
    assert not contradicts(
        kalshi("KXHIGHCHI-26FEB09-T40", YES, above("40")), kalshi("KXHIGHCHI-26FEB10-T40", NO, above("40"))
    )


def test_yes_and_no_of_one_bracket_contradict() -> None:
    yes = kalshi(f"{EVENT}-B38.5", YES, bracket("38", "39"))
    no = kalshi(f"{EVENT}-B38.5", NO, bracket("38", "39"))
    assert (yes.direction, no.direction) == (0, 0)
    assert contradicts(yes, no)


def test_two_yes_brackets_of_one_event_do_not_contradict() -> None:
    # at most one pays; together they are one wider bet, not stake cancelling stake
    assert not contradicts(
        kalshi(f"{EVENT}-B38.5", YES, bracket("38", "39")), kalshi(f"{EVENT}-B40.5", YES, bracket("40", "41"))
    )


@pytest.mark.parametrize(
    ("ticker", "outcome", "strike"),
    [
        (f"{EVENT}-T40.5", YES, above("40.5")),  # bets higher, outside the bracket
        (f"{EVENT}-T38.5", NO, above("38.5")),  # bets lower, overlapping the bracket
        (f"{EVENT}-T37", YES, above("37")),  # bets higher, covering the bracket
        (f"{EVENT}-T38", YES, below("38")),  # bets lower, next to the bracket
    ],
)
def test_yes_bracket_beside_a_threshold_does_not_contradict(
    ticker: str, outcome: Outcome, strike: MarketStrike
) -> None:
    # there is always a high where both lose, so no dollar is locked in
    assert not contradicts(
        kalshi(f"{EVENT}-B38.5", YES, bracket("38", "39")), kalshi(ticker, outcome, strike)
    )


def test_no_bracket_with_a_threshold_covering_the_rest_of_the_line_contradicts() -> None:
    no_bracket = kalshi(f"{EVENT}-B38.5", NO, bracket("38", "39"))
    assert contradicts(no_bracket, kalshi(f"{EVENT}-T37", YES, above("37")))  # pays at least once everywhere
    assert not contradicts(no_bracket, kalshi(f"{EVENT}-T40", YES, above("40")))  # both lose at 38


def test_no_on_two_disjoint_brackets_contradict_because_one_always_pays() -> None:
    assert contradicts(
        kalshi(f"{EVENT}-B38.5", NO, bracket("38", "39")), kalshi(f"{EVENT}-B40.5", NO, bracket("40", "41"))
    )


def test_full_ladder_is_read_from_the_market_fields() -> None:
    # the real NYC ladder shape: "88 or below" less cap 89, a bracket, "97 or above" greater floor 96
    low_tail = kalshi("KXHIGHNY-26JUL09-T89", YES, below("89"))
    top_tail = kalshi("KXHIGHNY-26JUL09-T96", YES, above("96"))
    middle = kalshi("KXHIGHNY-26JUL09-B95.5", YES, bracket("95", "96"))
    assert (low_tail.direction, middle.direction, top_tail.direction) == (-1, 0, 1)
    assert contradicts(low_tail, top_tail)
    assert not contradicts(middle, top_tail)


@pytest.mark.parametrize(
    ("ticker", "strike"),
    [
        (f"{EVENT}-B38.5", above("38.5")),  # a bracket token with a threshold's fields
        (f"{EVENT}-T40", bracket("40", "41")),  # a threshold token with a bracket's fields
        (f"{EVENT}-B38.5", bracket("40", "41")),  # a bracket token naming a point outside the bracket
    ],
)
def test_market_fields_that_contradict_the_ticker_are_refused(ticker: str, strike: MarketStrike) -> None:
    with pytest.raises(ValueError, match=ticker):
        kalshi(ticker, YES, strike)


def test_kalshi_stance_needs_the_outcome_and_the_strike_fields() -> None:
    with pytest.raises(ValueError, match="outcome held"):
        stance_for(f"{EVENT}-T40", PREDICTION, Side.BUY, strike=above("40"))
    with pytest.raises(ValueError, match="strike fields"):
        stance_for(f"{EVENT}-T40", PREDICTION, Side.BUY, outcome=YES)


def test_strike_fields_come_from_the_market_json() -> None:
    # from the real capture of KXHIGHCHI-26JAN23-T5 (transition era)
    captured = {"ticker": "KXHIGHCHI-26JAN23-T5", "strike_type": "less", "cap_strike": 5}
    assert MarketStrike.from_kalshi_market(captured) == below("5")
    current = {
        "ticker": "KXBTC-26APR0501-B75750",
        "strike_type": "between",
        "floor_strike": 75700,
        "cap_strike": 75799.99,
    }
    assert MarketStrike.from_kalshi_market(current) == bracket("75700", "75799.99")


@pytest.mark.parametrize(
    "market",
    [
        {"ticker": "X", "strike_type": "functional"},
        {"ticker": "X", "strike_type": "greater"},  # no floor
        {"ticker": "X", "strike_type": "between", "floor_strike": 41, "cap_strike": 40},
        {"ticker": "X", "strike_type": "less", "cap_strike": "five"},
    ],
)
def test_strike_fields_that_place_no_payoff_are_refused(market: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MarketStrike.from_kalshi_market(market)


# -- Kalshi Fed decisions ----------------------------------------------------------------------------------

MEETING = "KXFEDDECISION-27APR"


def fed(token: str, outcome: Outcome, side: Side = Side.BUY) -> Stance:
    return stance_for(f"{MEETING}-{token}", PREDICTION, side, outcome=outcome)


def test_a_yes_hike_bets_rates_up_and_a_yes_cut_bets_them_down() -> None:
    assert (fed("H25", YES).direction, fed("C25", YES).direction) == (1, -1)
    assert fed("H25", YES).underlying == MEETING


def test_no_flips_the_direction_of_a_decision() -> None:
    assert (fed("H25", NO).direction, fed("C25", NO).direction) == (-1, 1)
    assert fed("H25", YES, side=Side.SELL) == fed("H25", NO)


def test_yes_hike_and_yes_cut_of_one_meeting_contradict() -> None:
    assert contradicts(fed("H25", YES), fed("C25", YES))


def test_yes_hike_and_no_hike_of_one_meeting_contradict() -> None:
    assert contradicts(fed("H25", YES), fed("H25", NO))


def test_hikes_of_two_sizes_bet_the_same_way_and_do_not_contradict() -> None:
    assert not contradicts(fed("H25", YES), fed("H50", YES))
    assert not contradicts(fed("H25", YES), fed("C25", NO))  # both win if rates go up


def test_hold_is_non_directional_like_a_bracket() -> None:
    hold = fed("H0", YES)
    assert hold.direction == 0 == fed("H0", NO).direction
    assert contradicts(hold, fed("H0", NO))  # YES and NO of one market lock in a dollar
    assert not contradicts(hold, fed("H25", YES))  # at most one pays
    assert not contradicts(hold, fed("C25", YES))


def test_decisions_of_different_meetings_never_contradict() -> None:
    assert not contradicts(
        fed("H25", YES), stance_for("KXFEDDECISION-27JUN-C25", PREDICTION, Side.BUY, outcome=YES)
    )


def test_a_decision_market_takes_no_strike_fields() -> None:
    with pytest.raises(ValueError, match=f"{MEETING}-H25"):
        stance_for(f"{MEETING}-H25", PREDICTION, Side.BUY, outcome=YES, strike=above("25"))


def test_a_token_whose_payoff_is_unknown_needs_strike_fields() -> None:
    with pytest.raises(ValueError, match="strike fields"):
        stance_for("KXHIGHCHI-26FEB09-G100", PREDICTION, Side.BUY, outcome=YES)
    # with fields, the fields say where it pays (UNVERIFIED semantics of G tokens)
    assert (
        stance_for("KXHIGHCHI-26FEB09-G100", PREDICTION, Side.BUY, outcome=YES, strike=above("100")).direction
        == 1
    )


# -- Polymarket stances -------------------------------------------------------------------------------------


def test_holding_yes_and_no_of_one_condition_contradict() -> None:
    yes = stance_for(f"{CONDITION}:YES", PREDICTION, Side.BUY)
    no = stance_for(f"{CONDITION}:5453", PREDICTION, Side.BUY, outcome=NO)
    assert contradicts(yes, no)
    assert not contradicts(yes, stance_for(CONDITION, PREDICTION, Side.BUY, outcome=YES))


def test_long_and_short_of_one_polymarket_token_contradict() -> None:
    assert contradicts(
        stance_for(f"{CONDITION}:YES", PREDICTION, Side.BUY),
        stance_for(f"{CONDITION}:YES", PREDICTION, Side.SELL),
    )


def test_opposite_outcomes_of_different_conditions_do_not_contradict() -> None:
    assert not contradicts(
        stance_for(f"{CONDITION}:YES", PREDICTION, Side.BUY),
        stance_for(f"{OTHER_CONDITION}:NO", PREDICTION, Side.BUY),
    )


def test_polymarket_outcome_must_be_known_and_agree_with_the_symbol() -> None:
    with pytest.raises(ValueError, match="needs the outcome"):
        stance_for(CONDITION, PREDICTION, Side.BUY)
    with pytest.raises(ValueError, match="holds YES"):
        stance_for(f"{CONDITION}:YES", PREDICTION, Side.BUY, outcome=NO)


# -- regions ------------------------------------------------------------------------------------------------


def test_complement_of_a_bracket_is_the_two_open_tails() -> None:
    assert complement((Interval(Decimal(38), Decimal(39), True, True),)) == (
        Interval(None, Decimal(38)),
        Interval(Decimal(39), None),
    )


def test_complement_of_a_strict_ray_is_the_closed_ray_below() -> None:
    assert complement((Interval(Decimal(40), None),)) == (Interval(None, Decimal(40), high_closed=True),)


def test_a_stance_must_pay_on_part_of_the_line_only() -> None:
    with pytest.raises(ValueError, match="part of the line"):
        Stance(EVENT, 0, (Interval(),))


# -- properties ---------------------------------------------------------------------------------------------

halves = st.integers(min_value=60, max_value=100).map(lambda n: Decimal(n) / 2)


@st.composite
def kalshi_stances(draw: st.DrawFn) -> Stance:
    event = draw(st.sampled_from([EVENT, "KXHIGHCHI-26FEB10"]))
    kind = draw(st.sampled_from(list(StrikeType)))
    if kind is StrikeType.BETWEEN:
        floor, cap = sorted((draw(halves), draw(halves)))
        strike = MarketStrike(kind, floor_strike=floor, cap_strike=cap)
        token = f"B{(floor + cap) / 2:f}"
    else:
        value = draw(halves)
        is_floor = kind in (StrikeType.GREATER, StrikeType.GREATER_OR_EQUAL)
        strike = MarketStrike(kind, floor_strike=value) if is_floor else MarketStrike(kind, cap_strike=value)
        token = f"T{value:f}"
    return stance_for(
        f"{event}-{token}",
        PREDICTION,
        draw(st.sampled_from(Side)),
        outcome=draw(st.sampled_from(Outcome)),
        strike=strike,
    )


directional_stances = st.builds(
    stance_for,
    st.sampled_from(["EUR_USD", "USD/EUR", "GBPUSD"]),
    st.just(AssetClass.FOREX),
    st.sampled_from(Side),
) | st.builds(
    stance_for,
    st.sampled_from(["BTC/USD", "XBTUSDT", "ETH-USD"]),
    st.just(AssetClass.CRYPTO),
    st.sampled_from(Side),
)

polymarket_stances = st.builds(
    lambda condition, side, outcome: stance_for(condition, PREDICTION, side, outcome=outcome),
    st.sampled_from([CONDITION, OTHER_CONDITION]),
    st.sampled_from(Side),
    st.sampled_from(Outcome),
)

fed_stances = st.builds(
    lambda meeting, token, side, outcome: stance_for(f"{meeting}-{token}", PREDICTION, side, outcome=outcome),
    st.sampled_from([MEETING, "KXFEDDECISION-27JUN"]),
    st.sampled_from(["H25", "H50", "C25", "C50", "H0"]),
    st.sampled_from(Side),
    st.sampled_from(Outcome),
)

stances = kalshi_stances() | fed_stances | directional_stances | polymarket_stances


@given(stances, stances)
def test_contradiction_is_symmetric(a: Stance, b: Stance) -> None:
    assert contradicts(a, b) == contradicts(b, a)


@given(stances)
def test_a_stance_never_contradicts_itself(a: Stance) -> None:
    assert not contradicts(a, a)


@given(stances, stances)
def test_stances_betting_the_same_direction_never_contradict(a: Stance, b: Stance) -> None:
    if a.direction != 0 and a.direction == b.direction:
        assert not contradicts(a, b)


@given(stances, stances)
def test_different_underlyings_never_contradict(a: Stance, b: Stance) -> None:
    if a.underlying != b.underlying:
        assert not contradicts(a, b)


@given(kalshi_stances() | fed_stances)
def test_a_kalshi_position_contradicts_its_opposite_outcome(a: Stance) -> None:
    assert a.pays is not None and a.loses is not None
    opposite = Stance(a.underlying, -a.direction, a.loses, a.asset_class)
    assert contradicts(a, opposite)
    assert complement(a.loses) == a.pays
