from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from domain.instruments import AssetClass, Instrument
from domain.positions import Position
from domain.signals import ReasonCode, Side, SignalIntent
from domain.trading_state import TradingState
from risk_management.engine import (
    BookSnapshot,
    Exposure,
    FleetLimits,
    RiskEngine,
    RiskLimits,
    TailInputs,
    stance_of,
)
from tests.factories import T0, crypto, quote, signal, stock

LIMITS = RiskLimits(
    daily_loss_limit_usd=Decimal(30),
    max_concurrent_positions=3,
    gross_exposure_cap_fraction=Decimal("0.8"),
    reentry_cooldown=timedelta(minutes=30),
    risk_fraction_per_trade=0.005,
    max_position_fraction=Decimal("0.5"),
    max_order_notional_usd=Decimal(25_000),
    max_quote_age_seconds={"stock": 15.0, "crypto": 10.0},
)


def book(**overrides: object) -> BookSnapshot:
    fields: dict[str, object] = {
        "equity": Decimal(10_000),
        "day_start_equity": Decimal(10_000),
        "trading_state": TradingState.ACTIVE,
        "trading_reason": None,
        "open_exposures": (),
    }
    fields.update(overrides)
    return BookSnapshot(**fields)  # type: ignore[arg-type]


def exposure(symbol: str, quantity: str, price: str, bot: str = "other") -> Exposure:
    return Exposure(bot, f"sim-stocks:{symbol}", symbol, "stock", Decimal(quantity), Decimal(price))


def assess(sig=None, *, snapshot=None, q="default", position=None, now=T0, multiplier=1.0):  # type: ignore[no-untyped-def]
    return RiskEngine(LIMITS).assess(
        sig or signal(),
        book=snapshot or book(),
        quote=quote() if q == "default" else q,
        own_position=position,
        now=now,
        size_multiplier=multiplier,
    )


def test_entry_is_sized_by_fixed_fraction_and_rounded_down_to_the_lot() -> None:
    # equity 10,000 x 0.5 % = 50; entry at the ask 100.01, stop 98 -> 2.01 per unit -> 24.87 -> 24 shares
    outcome = assess(signal(stop=98.0))
    assert outcome.decision.passed
    assert outcome.intent is not None and outcome.intent.quantity == Decimal(24)
    assert outcome.intent.client_order_id.startswith("co-")


def test_regime_multiplier_scales_the_size() -> None:
    outcome = assess(signal(stop=98.0), multiplier=0.5)
    assert outcome.intent is not None and outcome.intent.quantity == Decimal(12)  # 24.87 / 2 = 12.4


def test_daily_loss_beyond_the_limit_refuses_entries() -> None:
    outcome = assess(snapshot=book(equity=Decimal(9_969), day_start_equity=Decimal(10_000)))
    assert outcome.decision.reason_code is ReasonCode.DAILY_LOSS_LIMIT
    assert outcome.intent is None


def test_reducing_state_refuses_entries_but_allows_exits() -> None:
    reducing = book(trading_state=TradingState.REDUCING, trading_reason="daily loss limit")
    entry = assess(snapshot=reducing)
    assert entry.decision.reason_code is ReasonCode.TRADING_REDUCING
    held = Position("bot-a", stock().key, quantity=Decimal(10), average_entry_price=Decimal(100))
    exit_signal = signal(side=Side.SELL, intent=SignalIntent.CLOSE, stop=None)
    exit_outcome = assess(exit_signal, snapshot=reducing, position=held)
    assert exit_outcome.decision.passed
    assert exit_outcome.intent is not None and exit_outcome.intent.reduce_only
    assert exit_outcome.intent.quantity == Decimal(10)


def test_halted_state_sends_nothing_not_even_exits() -> None:
    halted = book(trading_state=TradingState.HALTED, trading_reason="operator")
    held = Position("bot-a", stock().key, quantity=Decimal(10), average_entry_price=Decimal(100))
    assert assess(snapshot=halted).decision.reason_code is ReasonCode.TRADING_HALTED
    closing = assess(
        signal(side=Side.SELL, intent=SignalIntent.CLOSE, stop=None), snapshot=halted, position=held
    )
    assert closing.decision.reason_code is ReasonCode.TRADING_HALTED


def test_max_concurrent_positions_counts_open_and_pending() -> None:
    full = book(
        open_exposures=(exposure("QQQ", "1", "100"), exposure("XLE", "1", "50")),
        pending_entries=(exposure("IWM", "1", "80"),),
    )
    assert assess(snapshot=full).decision.reason_code is ReasonCode.MAX_POSITIONS


def test_gross_exposure_cap_cuts_the_size_to_the_room_left() -> None:
    # cap 8,000; 7,500 used; room 500 at 100.01 -> 4 shares (not the 24 the risk budget allows)
    crowded = book(open_exposures=(exposure("QQQ", "75", "100"),))
    outcome = assess(snapshot=crowded)
    assert outcome.decision.passed
    assert outcome.intent is not None and outcome.intent.quantity == Decimal(4)
    assert outcome.decision.details["cut_by_cap"] == "gross_exposure"


def test_gross_exposure_cap_refuses_when_no_room_is_left() -> None:
    full = book(open_exposures=(exposure("QQQ", "80", "100"),))
    assert assess(snapshot=full).decision.reason_code is ReasonCode.GROSS_EXPOSURE


def test_reentry_cooldown_refuses_an_entry_soon_after_an_exit() -> None:
    recently = book(last_exit_at={stock().key: T0 - timedelta(minutes=10)})
    outcome = assess(snapshot=recently)
    assert outcome.decision.reason_code is ReasonCode.REENTRY_COOLDOWN
    later = assess(
        snapshot=recently, now=T0 + timedelta(minutes=21), q=quote(time=T0 + timedelta(minutes=21))
    )
    assert later.decision.passed


def test_missing_price_stops_the_trade() -> None:
    assert assess(q=None).decision.reason_code is ReasonCode.NO_PRICE


def test_stale_price_stops_the_trade() -> None:
    outcome = assess(q=quote(time=T0 - timedelta(seconds=16)))
    assert outcome.decision.reason_code is ReasonCode.STALE_PRICE


def test_entry_when_already_holding_is_refused() -> None:
    held = Position("bot-a", stock().key, quantity=Decimal(5), average_entry_price=Decimal(100))
    assert assess(position=held).decision.reason_code is ReasonCode.ALREADY_IN_POSITION


def test_order_below_the_venue_minimum_is_refused_not_rounded_up() -> None:
    tiny = crypto(min_notional=Decimal(5_000))
    sig = signal(tiny, stop=95.0)
    outcome = assess(sig, q=quote(tiny, "99.99", "100.01"))
    assert outcome.decision.reason_code is ReasonCode.BELOW_VENUE_MINIMUM


def test_close_without_a_position_is_refused() -> None:
    outcome = assess(signal(side=Side.SELL, intent=SignalIntent.CLOSE, stop=None))
    assert outcome.decision.reason_code is ReasonCode.NO_POSITION_TO_CLOSE


def test_partial_close_sends_the_requested_quantity() -> None:
    held = Position("bot-a", stock().key, quantity=Decimal(9), average_entry_price=Decimal(100))
    sig = signal(side=Side.SELL, intent=SignalIntent.CLOSE, stop=None, close_quantity=Decimal(3))
    outcome = assess(sig, position=held)
    assert outcome.intent is not None and outcome.intent.quantity == Decimal(3)


def test_stop_on_the_wrong_side_is_refused() -> None:
    assert not assess(signal(stop=101.0)).decision.passed


# -- per-bot and per-asset-class caps, prediction price cap, loss-streak multiplier ------------------


def test_a_bot_cap_cuts_an_entry_to_the_bots_room() -> None:
    # bot cap 25 % of 10,000 = 2,500; bot-a already holds 2,200 of QQQ -> room 300 at 100.01 -> 2 shares
    crowded = book(open_exposures=(exposure("QQQ", "22", "100", bot="bot-a"),))
    outcome = assess(snapshot=crowded)
    assert outcome.intent is not None and outcome.intent.quantity == Decimal(2)
    assert outcome.decision.details["cut_by_cap"] == "bot_exposure"


def test_a_full_bot_is_refused_while_another_bot_may_still_enter() -> None:
    full = book(open_exposures=(exposure("QQQ", "25", "100", bot="bot-a"),))
    assert assess(snapshot=full).decision.reason_code is ReasonCode.BOT_EXPOSURE
    assert assess(signal(bot="bot-b"), snapshot=full).decision.passed


def test_an_asset_class_cap_refuses_when_the_class_is_full() -> None:
    limits = replace(LIMITS, max_asset_class_exposure_fraction={"stock": Decimal("0.3")})
    full = book(open_exposures=(exposure("QQQ", "30", "100"),))  # 3,000 = 30 % of 10,000
    outcome = RiskEngine(limits).assess(signal(), book=full, quote=quote(), own_position=None, now=T0)
    assert outcome.decision.reason_code is ReasonCode.ASSET_CLASS_EXPOSURE
    # a crypto entry is not in the stock class
    btc = crypto()
    other = RiskEngine(limits).assess(
        signal(btc, stop=59_000.0),
        book=full,
        quote=quote(btc, bid="59999", ask="60001"),
        own_position=None,
        now=T0,
    )
    assert other.decision.passed


def test_prediction_entries_above_the_price_cap_are_refused() -> None:
    contract = Instrument(
        symbol="KXHIGHCHI-26FEB09-B38.5",
        venue="kalshi",
        asset_class=AssetClass.PREDICTION,
        tick_size=Decimal("0.01"),
        lot_size=Decimal(1),
        underlying="KXHIGHCHI-26FEB09",
    )
    limits = replace(LIMITS, max_quote_age_seconds={"prediction": 60.0})

    def at(ask: str) -> ReasonCode:
        bid = str(Decimal(ask) - Decimal("0.01"))
        outcome = RiskEngine(limits).assess(
            signal(contract, stop=None, evidence={"win_probability": 0.45}),
            book=book(),
            quote=quote(contract, bid=bid, ask=ask),
            own_position=None,
            now=T0,
        )
        return outcome.decision.reason_code

    assert at("0.31") is ReasonCode.PREDICTION_PRICE_CAP
    assert at("0.30") is ReasonCode.OK


def test_a_bots_loss_streak_multiplier_shrinks_its_entries() -> None:
    # 24.87 shares at full size (see the first test); the bot's multiplier 0.5 -> 12
    reduced = book(bot_size_multipliers={"bot-a": 0.5})
    outcome = assess(signal(stop=98.0), snapshot=reduced)
    assert outcome.intent is not None and outcome.intent.quantity == Decimal(12)
    assert outcome.decision.details["bot_size_multiplier"] == 0.5


def test_a_fleet_allocation_scales_its_sub_bots_entries_with_the_loss_streak_rule() -> None:
    # 24.87 shares at full size; a fleet weight worth x0.8 -> 19.9 -> 19; with the streak's 0.5 too
    # 24.87 x 0.8 x 0.5 = 9.95 -> 9; a bot outside the fleet is not touched
    allocated = book(fleet_size_multipliers={"bot-a": 0.8})
    outcome = assess(signal(stop=98.0), snapshot=allocated)
    assert outcome.intent is not None and outcome.intent.quantity == Decimal(19)
    assert outcome.decision.details["fleet_size_multiplier"] == 0.8
    both = book(fleet_size_multipliers={"bot-a": 0.8}, bot_size_multipliers={"bot-a": 0.5})
    outcome = assess(signal(stop=98.0), snapshot=both)
    assert outcome.intent is not None and outcome.intent.quantity == Decimal(9)
    other = book(fleet_size_multipliers={"bot-b": 0.1})
    outcome = assess(signal(stop=98.0), snapshot=other)
    assert outcome.intent is not None and outcome.intent.quantity == Decimal(24)


def test_correlated_positions_together_are_capped() -> None:
    # cap 40 % of 10,000 = 4,000; QQQ long 3,800 correlates +0.9 with the SPY candidate -> room 200
    # -> 1 share at 100.01 (of the 24 the risk budget allows)
    held = book(open_exposures=(exposure("QQQ", "38", "100"),))
    engine = RiskEngine(replace(LIMITS, max_correlated_exposure_fraction=Decimal("0.4")))

    def run(correlation: float, side: Side = Side.BUY):  # type: ignore[no-untyped-def]
        sig = signal(side=side, stop=98.0 if side is Side.BUY else 102.0)
        return engine.assess(
            sig,
            book=held,
            quote=quote(),
            own_position=None,
            now=T0,
            correlations={"sim-stocks:QQQ": correlation},
        )

    cut = run(0.9)
    assert cut.intent is not None and cut.intent.quantity == Decimal(1)
    assert cut.decision.details["cut_by_cap"] == "correlated_exposure"
    assert run(0.5).intent is not None and run(0.5).intent.quantity == Decimal(24)  # below the threshold
    # a short SPY against a long QQQ correlated +0.9 is a hedge, not a concentration
    assert run(0.9, Side.SELL).decision.details["cut_by_cap"] != "correlated_exposure"
    full = RiskEngine(replace(LIMITS, max_correlated_exposure_fraction=Decimal("0.38"))).assess(
        signal(stop=98.0),
        book=held,
        quote=quote(),
        own_position=None,
        now=T0,
        correlations={"sim-stocks:QQQ": 0.9},
    )
    assert full.decision.reason_code is ReasonCode.CORRELATED_EXPOSURE


def fx(symbol: str, venue: str = "oanda") -> Instrument:
    return Instrument(
        symbol=symbol,
        venue=venue,
        asset_class=AssetClass.FOREX,
        tick_size=Decimal("0.00001"),
        lot_size=Decimal(1),
        underlying=symbol,
    )


def held_by_other_bot(
    instrument: Instrument, quantity: str, price: str, *, pending: bool = False
) -> BookSnapshot:
    side = Side.BUY if Decimal(quantity) > 0 else Side.SELL
    held = Exposure(
        "other-bot",
        instrument.key,
        instrument.underlying,
        instrument.asset_class.value,
        Decimal(quantity),
        Decimal(price),
        stance_of(instrument, side),
    )
    return book(pending_entries=(held,)) if pending else book(open_exposures=(held,))


def test_an_entry_against_another_bots_position_on_the_same_underlying_is_refused() -> None:
    spy = stock("SPY")
    long_spy = held_by_other_bot(spy, "10", "100")
    short = assess(signal(spy, Side.SELL, stop=102.0), snapshot=long_spy)
    assert short.decision.reason_code is ReasonCode.CONTRADICTORY_POSITION
    assert "other-bot" in short.decision.message
    assert assess(signal(spy, Side.BUY, stop=98.0), snapshot=long_spy).decision.passed  # same direction
    # an order still in flight counts like an open position
    pending = held_by_other_bot(spy, "10", "100", pending=True)
    assert assess(signal(spy, Side.SELL, stop=102.0), snapshot=pending).decision.reason_code is (
        ReasonCode.CONTRADICTORY_POSITION
    )


def test_forex_spellings_and_inverted_pairs_are_one_underlying() -> None:
    limits = replace(LIMITS, max_quote_age_seconds={"forex": 10.0})
    engine = RiskEngine(limits)
    long_eur = held_by_other_bot(fx("EUR_USD"), "1000", "1.08")

    def entry(instrument: Instrument, side: Side) -> ReasonCode:
        stop = 1.07 if side is Side.BUY else 1.09
        return engine.assess(
            signal(instrument, side, stop=stop),
            book=long_eur,
            quote=quote(instrument, bid="1.07999", ask="1.08001"),
            own_position=None,
            now=T0,
        ).decision.reason_code

    assert entry(fx("EUR/USD", venue="sim-fx"), Side.SELL) is ReasonCode.CONTRADICTORY_POSITION
    assert entry(fx("EUR/USD", venue="sim-fx"), Side.BUY) is ReasonCode.OK
    # buying USD/EUR is selling EUR/USD
    assert entry(fx("USD_EUR"), Side.BUY) is ReasonCode.CONTRADICTORY_POSITION
    assert entry(fx("GBP_USD"), Side.SELL) is ReasonCode.OK  # another underlying


def test_the_cvar_budget_cuts_an_entry_to_the_share_that_fits() -> None:
    """Hand-worked, historical CVaR at 95 % over 20 scenarios = the worst one.

    The book loses 620 in scenario 0 and nothing elsewhere; the SPY candidate (24 shares at
    100.01, 2,400.24 USD) returns -50 % in scenario 0: 1,200.12 x s more loss. Budget 10 % of
    10,000 = 1,000, so 620 + 1,200.12 s <= 1,000 -> s = 0.3166 -> 24 x 0.3166 = 7.6 -> 7 shares.
    """
    book_pnl = np.zeros(20)
    book_pnl[0] = -620.0
    candidate = np.full(20, 0.001)
    candidate[0] = -0.50
    tail = TailInputs(book_pnl=book_pnl, candidate_returns=candidate)
    outcome = RiskEngine(LIMITS).assess(
        signal(stop=98.0), book=book(), quote=quote(), own_position=None, now=T0, tail=tail
    )
    assert outcome.intent is not None and outcome.intent.quantity == Decimal(7)
    assert outcome.decision.details["cut_by_cap"] == "cvar_budget"
    # a book already past its budget takes no new risk
    book_pnl[0] = -1_200.0
    refused = RiskEngine(LIMITS).assess(
        signal(stop=98.0), book=book(), quote=quote(), own_position=None, now=T0, tail=tail
    )
    assert refused.decision.reason_code is ReasonCode.CVAR_BUDGET
    # a short candidate gains in scenario 0: it hedges and goes through whole
    hedge = RiskEngine(LIMITS).assess(
        signal(side=Side.SELL, stop=102.0), book=book(), quote=quote(), own_position=None, now=T0, tail=tail
    )
    assert hedge.decision.passed and hedge.decision.details["cvar_scale"] == 1.0


def kalshi_contract() -> Instrument:
    return Instrument(
        symbol="KXHIGHNY-26JAN23-T40",
        venue="kalshi",
        asset_class=AssetClass.PREDICTION,
        tick_size=Decimal("0.01"),
        lot_size=Decimal(1),
        underlying="KXHIGHNY-26JAN23",
    )


def prediction_entry(  # type: ignore[no-untyped-def]
    evidence: dict[str, object],
    ask: str = "0.25",
    risk_fraction: float = 0.05,
    free_cash: Decimal | None = None,
):
    """A Kalshi entry on a 10,000 USD book; the risk fraction is high unless a test is about it."""
    contract = kalshi_contract()
    limits = replace(
        LIMITS, max_quote_age_seconds={"prediction": 60.0}, risk_fraction_per_trade=risk_fraction
    )
    bid = str(Decimal(ask) - Decimal("0.01"))
    return RiskEngine(limits).assess(
        signal(contract, stop=None, evidence=evidence),
        book=book(),
        quote=quote(contract, bid=bid, ask=ask),
        own_position=None,
        now=T0,
        free_cash=free_cash,
    )


def test_a_bought_contract_risks_its_whole_price_so_the_risk_fraction_bounds_it_at_zero() -> None:
    # 0.05 % of 10,000 = 5 USD may be lost; a contract at 0.25 can lose 0.25 -> 20 contracts,
    # although quarter-Kelly alone would take 1780 (see the next test)
    outcome = prediction_entry({"win_probability": 0.40, "fee_per_contract": 0.02}, risk_fraction=0.0005)
    assert outcome.intent is not None and outcome.intent.quantity == Decimal(20)


def test_a_no_bought_by_selling_yes_is_priced_capped_and_sized_at_one_minus_the_bid() -> None:
    contract = kalshi_contract()
    limits = replace(LIMITS, max_quote_age_seconds={"prediction": 60.0}, risk_fraction_per_trade=0.0005)

    def sell_yes(bid: str, evidence: dict[str, object], free_cash: Decimal | None = None):  # type: ignore[no-untyped-def]
        ask = str(Decimal(bid) + Decimal("0.01"))
        return RiskEngine(limits).assess(
            signal(contract, Side.SELL, stop=None, evidence=evidence),
            book=book(),
            quote=quote(contract, bid=bid, ask=ask),
            own_position=None,
            now=T0,
            free_cash=free_cash,
        )

    # YES bid 0.60: the NO costs 0.40, above the 0.30 cap
    capped = sell_yes("0.60", {"win_probability": 0.9})
    assert (
        capped.decision.reason_code is ReasonCode.PREDICTION_PRICE_CAP and "NO of" in capped.decision.message
    )
    # YES bid 0.75: the NO costs 0.25 and loses it all if YES settles; 0.05 % of 10,000 = 5 USD -> 20
    # contracts (quarter-Kelly at P(NO) 0.40 and cost 0.27 would allow 1780)
    sized = sell_yes("0.75", {"win_probability": 0.40, "fee_per_contract": 0.02})
    assert (
        sized.intent is not None and sized.intent.side is Side.SELL and sized.intent.quantity == Decimal(20)
    )
    # 2.50 USD free pays for 10 NO at 0.25
    cash = sell_yes("0.75", {"win_probability": 0.40, "fee_per_contract": 0.02}, free_cash=Decimal("2.50"))
    assert cash.intent is not None and cash.intent.quantity == Decimal(10)


def test_a_bot_with_its_own_price_cap_may_buy_the_no_of_a_longshot_that_others_may_not() -> None:
    contract = kalshi_contract()
    base = replace(LIMITS, max_quote_age_seconds={"prediction": 60.0}, risk_fraction_per_trade=0.0005)
    evidence = {"win_probability": 0.95, "fee_per_contract": 0.004}

    def sell_yes_at_six_cents(limits: RiskLimits):  # type: ignore[no-untyped-def]
        return RiskEngine(limits).assess(
            signal(contract, Side.SELL, stop=None, evidence=evidence),
            book=book(),
            quote=quote(contract, bid="0.06", ask="0.07"),
            own_position=None,
            now=T0,
        )

    # the NO costs 1 - 0.06 = 0.94: above the engine's 0.30 cap for every bot without its own
    refused = sell_yes_at_six_cents(
        replace(base, prediction_max_entry_price_by_bot={"other-bot": Decimal("0.98")})
    )
    assert refused.decision.reason_code is ReasonCode.PREDICTION_PRICE_CAP
    assert "bot-a's 0.30 cap" in refused.decision.message
    # with its own 0.98 cap: 0.05 % of 10,000 = 5 USD may be lost, a NO loses 0.94 -> 5 contracts
    # (quarter-Kelly: (0.95 - 0.944) / 0.056 = 0.107, x 0.25 = 2.7 % of equity, 285 contracts)
    allowed = sell_yes_at_six_cents(
        replace(base, prediction_max_entry_price_by_bot={"bot-a": Decimal("0.98")})
    )
    assert allowed.intent is not None and allowed.intent.quantity == Decimal(5)


def test_both_legs_of_a_cross_venue_pair_are_sized_alike_by_what_the_pair_risks() -> None:
    contract = kalshi_contract()
    limits = replace(
        LIMITS,
        max_quote_age_seconds={"prediction": 60.0},
        risk_fraction_per_trade=0.0005,
        prediction_max_entry_price_by_bot={"bot-a": Decimal("0.99")},
    )
    pair = {"pair_risk_per_contract": 0.979555}

    def leg(side: Side, evidence: dict[str, object]):  # type: ignore[no-untyped-def]
        return RiskEngine(limits).assess(
            signal(contract, side, stop=None, evidence=evidence),
            book=book(),
            quote=quote(contract, bid="0.40", ask="0.42"),
            own_position=None,
            now=T0,
        )

    # 0.05 % of 10,000 = 5 USD over the pair's 0.979555 -> 5.1 -> 5 contracts on each leg, no Kelly needed
    yes, no = leg(Side.BUY, pair), leg(Side.SELL, pair)
    assert yes.intent is not None and no.intent is not None
    assert yes.intent.quantity == no.intent.quantity == Decimal(5)
    # a single bet risks its own price: YES 5 / 0.42 -> 11 (Kelly at 0.99 does not bind)
    alone = leg(Side.BUY, {"win_probability": 0.99})
    assert alone.intent is not None and alone.intent.quantity == Decimal(11)
    broken = leg(Side.BUY, {"pair_risk_per_contract": 1.5})
    assert broken.intent is None and "must lie in (0, 1]" in broken.decision.message


def test_a_buy_costs_no_more_than_the_accounts_free_cash() -> None:
    # Kelly would take 1780 contracts at 0.25 (445 USD); the account has 100.10 free -> 400
    cut = prediction_entry({"win_probability": 0.40, "fee_per_contract": 0.02}, free_cash=Decimal("100.10"))
    assert cut.intent is not None and cut.intent.quantity == Decimal(400)
    assert cut.decision.details["cut_by_cap"] == "insufficient_cash"
    broke = prediction_entry({"win_probability": 0.40, "fee_per_contract": 0.02}, free_cash=Decimal("0.20"))
    assert broke.intent is None and broke.decision.reason_code is ReasonCode.INSUFFICIENT_CASH


def test_prediction_entries_are_sized_by_quarter_kelly_after_fees() -> None:
    # p = 0.40 at 0.25 + fee 0.02: cost 0.27, full Kelly (0.40 - 0.27) / 0.73 = 0.17808;
    # a quarter is 0.04452 of 10,000 = 445.21 USD -> / 0.25 = 1780.8 -> 1780 contracts
    outcome = prediction_entry({"win_probability": 0.40, "fee_per_contract": 0.02})
    assert outcome.intent is not None and outcome.intent.quantity == Decimal(1780)
    assert outcome.decision.details["kelly_fraction"] == pytest.approx(0.25 * 0.13 / 0.73)
    # the per-position cap (5 % of equity) binds a big edge: 500 / 0.25 = 2000
    rich = prediction_entry({"win_probability": 0.90})
    assert rich.intent is not None and rich.intent.quantity == Decimal(2000)


def test_no_edge_after_fees_sizes_to_zero_and_bad_inputs_are_refused() -> None:
    no_edge = prediction_entry({"win_probability": 0.26, "fee_per_contract": 0.02})
    assert no_edge.decision.reason_code is ReasonCode.SIZE_ZERO and "no edge" in no_edge.decision.message
    missing = prediction_entry({})
    assert (
        missing.decision.reason_code is ReasonCode.SIZE_ZERO and "win_probability" in missing.decision.message
    )
    junk = prediction_entry({"win_probability": "very likely"})
    assert junk.decision.reason_code is ReasonCode.SIZE_ZERO and "unusable" in junk.decision.message


def test_kelly_inputs_bound_a_continuous_entry_below_its_fixed_fraction_size() -> None:
    # fixed fraction: 24 shares; win rate 0.55, payoff 1.0 -> full Kelly 0.10, quarter 0.025
    # -> 250 USD -> 2.49 -> 2 shares at 100.01
    outcome = assess(signal(stop=98.0, evidence={"win_rate": 0.55, "payoff_ratio": 1.0}))
    assert outcome.intent is not None and outcome.intent.quantity == Decimal(2)
    losing = assess(signal(stop=98.0, evidence={"win_rate": 0.45, "payoff_ratio": 1.0}))
    assert losing.decision.reason_code is ReasonCode.SIZE_ZERO


def test_an_entry_takes_at_most_its_risk_parity_share_of_the_gross_cap() -> None:
    # HRP weight 5 % of the 8,000 gross cap = 400 USD -> 3 shares at 100.01 (24 by the risk budget)
    outcome = RiskEngine(LIMITS).assess(
        signal(stop=98.0), book=book(), quote=quote(), own_position=None, now=T0, hrp_weight=0.05
    )
    assert outcome.intent is not None and outcome.intent.quantity == Decimal(3)
    assert outcome.decision.details["cut_by_cap"] == "hrp_allocation"
    tiny = RiskEngine(LIMITS).assess(
        signal(stop=98.0), book=book(), quote=quote(), own_position=None, now=T0, hrp_weight=0.001
    )
    assert tiny.decision.reason_code is ReasonCode.HRP_ALLOCATION


FLEET = FleetLimits(
    members=frozenset({"bot-a", "bot-b"}),
    daily_loss_limit_usd=Decimal(20),
    max_positions=2,
    gross_exposure_cap_fraction=Decimal("0.3"),
)


def fleet_assess(sig, snapshot, position=None):  # type: ignore[no-untyped-def]
    return RiskEngine(replace(LIMITS, fleet=FLEET)).assess(
        sig, book=snapshot, quote=quote(), own_position=position, now=T0, size_multiplier=1.0
    )


def test_the_fleet_daily_loss_refuses_its_sub_bots_entries_only_and_lets_exits_go() -> None:
    lost = book(fleet_daily_pnl=Decimal("-20.00"))  # the whole book is flat on the day
    assert fleet_assess(signal(bot="bot-a"), lost).decision.reason_code is ReasonCode.FLEET_DAILY_LOSS
    assert fleet_assess(signal(bot="solo"), lost).decision.passed  # not a sub-bot
    assert fleet_assess(signal(bot="bot-a"), book(fleet_daily_pnl=Decimal("-19.99"))).decision.passed
    held = Position("bot-a", stock().key, quantity=Decimal(10), average_entry_price=Decimal(100))
    exit_signal = signal(side=Side.SELL, intent=SignalIntent.CLOSE, stop=None)
    assert fleet_assess(exit_signal, lost, position=held).decision.passed


def test_the_fleet_counts_its_sub_bots_positions_together() -> None:
    # bot-a and bot-b hold one position each (the maximum, 2); "other" holds a third that does not count
    two = (
        exposure("QQQ", "1", "100", bot="bot-a"),
        exposure("XLE", "1", "100", bot="bot-b"),
        exposure("IWM", "1", "100"),
    )
    refused = fleet_assess(signal(bot="bot-b"), book(open_exposures=two[:2]))
    assert refused.decision.reason_code is ReasonCode.FLEET_MAX_POSITIONS
    assert fleet_assess(signal(bot="bot-b"), book(open_exposures=(two[0], two[2]))).decision.passed


def test_the_fleet_exposure_cap_cuts_an_entry_to_the_room_left() -> None:
    # cap 30 % of 10,000 = 3,000; bot-a holds 25 x 100 = 2,500 -> room 500 -> 4 shares at 100.01
    # (the risk budget alone buys 24, see the first test); outside the fleet the 24 stand
    held = (exposure("QQQ", "25", "100", bot="bot-a"),)
    cut = fleet_assess(signal(bot="bot-b"), book(open_exposures=held))
    assert cut.intent is not None and cut.intent.quantity == Decimal(4)
    assert cut.decision.details["cut_by_cap"] == ReasonCode.FLEET_EXPOSURE.value
    alone = fleet_assess(signal(bot="solo"), book(open_exposures=held))
    assert alone.intent is not None and alone.intent.quantity == Decimal(24)
    full = (exposure("QQQ", "30", "100", bot="bot-a"),)
    refused = fleet_assess(signal(bot="bot-b"), book(open_exposures=full))
    assert refused.decision.reason_code is ReasonCode.FLEET_EXPOSURE
