"""The RiskEngine: the last word on every order.

`RiskEngine.assess` is pure: a signal and a snapshot of the book in, a
decision and (when it passes) a sized `OrderIntent` out. Entries are sized
first (fixed fraction of equity at risk to the stop, times the multipliers
earlier stages granted) and then cut or refused by the limits; exits only need
a position to shrink and a price to trust.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np

from domain.contracts import Measure
from domain.instruments import AssetClass, Instrument
from domain.market import Quote
from domain.orders import OrderIntent, intent_for
from domain.positions import Position
from domain.signals import Decision, ReasonCode, Side, Signal, SignalIntent
from domain.trading_state import TradingState
from risk_management.correlation import correlated_exposure
from risk_management.kelly import binary_kelly_fraction, position_fraction, win_rate_kelly_fraction
from risk_management.sizing import cap_quantity_by_notional, fixed_fraction_quantity
from risk_management.tail_risk import largest_scale_within_budget, sample_cvar
from risk_management.underlying import Outcome, Stance, contradicts, stance_for

STAGE = "risk"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RiskLimits:
    daily_loss_limit_usd: Decimal
    max_concurrent_positions: int
    gross_exposure_cap_fraction: Decimal
    reentry_cooldown: timedelta
    risk_fraction_per_trade: float
    max_position_fraction: Decimal
    max_order_notional_usd: Decimal
    max_quote_age_seconds: Mapping[str, float]
    max_bot_exposure_fraction: Decimal = Decimal("0.25")  # of equity, per bot
    # of equity, per asset class ("stock", "crypto", ...); a class not named has only the gross cap
    max_asset_class_exposure_fraction: Mapping[str, Decimal] = field(default_factory=dict)
    prediction_max_entry_price: Decimal = Decimal("0.30")  # dollars per contract paying $1
    # a bot's own cap, where the registry gives one (a longshot fader buys NO at 90 cents and more)
    prediction_max_entry_price_by_bot: Mapping[str, Decimal] = field(default_factory=dict)
    # positions whose return correlation with the candidate (times both sides) exceeds the
    # threshold may together hold at most this share of equity
    correlation_threshold: float = 0.7
    max_correlated_exposure_fraction: Decimal = Decimal("0.4")
    # the book's CVaR over the horizon, at this confidence, may not exceed this share of equity
    cvar_budget_fraction: float = 0.1
    cvar_confidence: float = 0.95
    cvar_method: str = "historical"
    kelly_multiplier: float = 0.25  # quarter-Kelly
    kelly_cap: float = 0.05  # at most this share of equity on one position by Kelly
    fleet: FleetLimits | None = None  # None: no fleet, or its limits off


@dataclass(frozen=True, slots=True)
class FleetLimits:
    """The fleet's own limits over its sub-bots together (the fleet tier of ARCHITECTURE.md's three):
    their P&L today, their positions open or pending, and their gross exposure as a share of equity.
    The contradictory blocker needs no fleet tier: it already spans every bot."""

    members: frozenset[str]
    daily_loss_limit_usd: Decimal
    max_positions: int
    gross_exposure_cap_fraction: Decimal


@dataclass(frozen=True, slots=True)
class TailInputs:
    """Return scenarios for the CVaR budget, already scaled to the budget's horizon.

    `book_pnl[t]` is the whole book's P&L (USD) in scenario t; `candidate_returns[t]` the
    candidate market's return in the same scenario (a long position's P&L per USD of notional).
    """

    book_pnl: np.ndarray
    candidate_returns: np.ndarray


@dataclass(frozen=True, slots=True)
class Exposure:
    """One open position, or an entry order still in flight, as the limits see it."""

    bot: str
    instrument_key: str
    underlying: str
    asset_class: str
    signed_quantity: Decimal
    mark_price: Decimal
    stance: Stance | None = None  # what it bets on its underlying; None when unknown
    # an option position: its delta-adjusted exposure to the underlying (signed, in currency),
    # which the limits count instead of the premium (`risk_management.option_exposure`)
    delta_notional: Decimal | None = None
    resting: bool = False  # an entry order resting on the book (a maker's quote), not yet filled

    @property
    def signed_notional(self) -> Decimal:
        """What the position moves with: quantity x mark, or an option's delta-adjusted exposure."""
        if self.delta_notional is not None:
            return self.delta_notional
        return self.signed_quantity * self.mark_price

    @property
    def notional(self) -> Decimal:
        return abs(self.signed_notional)


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """What the limits need to know about the book at the moment of a decision."""

    equity: Decimal
    day_start_equity: Decimal
    trading_state: TradingState
    trading_reason: str | None
    open_exposures: tuple[Exposure, ...]
    pending_entries: tuple[Exposure, ...] = ()
    last_exit_at: Mapping[str, datetime] = field(default_factory=dict)
    # per bot: the consecutive-loss reduction (risk_management.streaks)
    bot_size_multipliers: Mapping[str, float] = field(default_factory=dict)
    # per fleet sub-bot: its Thompson allocation as a size multiplier (runtime.fleet; x1 an equal share)
    fleet_size_multipliers: Mapping[str, float] = field(default_factory=dict)
    # the fleet's sub-bots' P&L since the trading day began (realized and unrealized); None: no fleet
    fleet_daily_pnl: Decimal | None = None

    def exposure_of(
        self,
        *,
        bot: str | None = None,
        asset_class: str | None = None,
        bots: Collection[str] | None = None,
    ) -> Decimal:
        """Notional held or in flight by one bot, by any of `bots` (a fleet), or in one asset class."""
        return sum(
            (
                e.notional
                for e in self.open_exposures + self.pending_entries
                if (bot is None or e.bot == bot)
                and (bots is None or e.bot in bots)
                and (asset_class is None or e.asset_class == asset_class)
            ),
            Decimal(0),
        )

    @property
    def daily_pnl(self) -> Decimal:
        return self.equity - self.day_start_equity

    @property
    def gross_exposure(self) -> Decimal:
        return sum((e.notional for e in self.open_exposures + self.pending_entries), Decimal(0))

    @property
    def position_count(self) -> int:
        return len(self.open_exposures) + len(self.pending_entries)


@dataclass(frozen=True, slots=True)
class RiskOutcome:
    decision: Decision
    intent: OrderIntent | None = None


# Symbols whose stance could not be read, so each is logged once per process.
_UNREADABLE_STANCES: set[str] = set()


@functools.lru_cache(maxsize=4096)
def stance_of(instrument: Instrument, side: Side) -> Stance | None:
    """The stance of holding `instrument` on `side`, for the contradictory-position blocker.

    Stocks, crypto and forex take it from the symbol. A prediction market takes it from the
    contract its adapter read from the market's payload (`Instrument.contract`):
    - Kalshi: our instrument is the YES contract (BUY holds YES, SELL holds NO), paying where
      the market's own strike fields say; a Fed decision market pays on the decision its
      ticker names and needs no strike.
    - Polymarket (0x... symbols): the outcome held is the contract's `outcome` when it is
      YES or NO, else what the symbol spells (":YES" / ":NO"), so a symbol that spells it
      needs no contract.
    None, never compared, for a Kalshi market without a contract, or one whose
    contract places its payoff nowhere (G, plain-number and named tokens without strike
    fields), and, logged once per symbol at WARNING, anything whose stance cannot be read
    (a malformed symbol, a strike contradicting the ticker, an outcome that is not YES/NO).
    """
    try:
        if instrument.asset_class is not AssetClass.PREDICTION:
            return stance_for(instrument.symbol, instrument.asset_class, side)
        contract = instrument.contract
        if instrument.symbol.startswith(("0x", "0X")):
            outcome = None if contract is None else _yes_or_no(contract.outcome)
            return stance_for(instrument.symbol, AssetClass.PREDICTION, side, outcome=outcome)
        if contract is None or (contract.strike is None and contract.measure is not Measure.FED_DECISION):
            return None
        return stance_for(
            instrument.symbol, AssetClass.PREDICTION, side, outcome=Outcome.YES, strike=contract.strike
        )
    except ValueError as error:  # MalformedSymbol and ContractMismatch are ValueErrors
        if instrument.symbol not in _UNREADABLE_STANCES:
            _UNREADABLE_STANCES.add(instrument.symbol)
            log.warning(
                "%s: no stance for the contradictory-position blocker, so it is not compared: %s",
                instrument.key,
                error,
            )
        return None


def _yes_or_no(outcome: str | None) -> Outcome | None:
    """A Polymarket contract's outcome as YES/NO, or None for a named outcome (Up, a team)."""
    try:
        return None if outcome is None else Outcome(outcome.strip().lower())
    except ValueError:
        return None


class RiskEngine:
    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits

    def assess(
        self,
        signal: Signal,
        *,
        book: BookSnapshot,
        quote: Quote | None,
        own_position: Position | None,
        now: datetime,
        size_multiplier: float = 1.0,
        correlations: Mapping[str, float] | None = None,
        tail: TailInputs | None = None,
        hrp_weight: float | None = None,
        free_cash: Decimal | None = None,
    ) -> RiskOutcome:
        """`correlations`: the candidate's return correlation with each held market (by key);
        markets missing from it are not counted by the correlated-exposure limit.
        `free_cash`: what the bot's account at its venue has free; a buy may not cost more
        (None: not known, the venue's own check stands).
        `hrp_weight`: the candidate's Hierarchical Risk Parity weight among the held markets and
        itself; the entry may take at most that share of the gross exposure cap."""
        if signal.intent is SignalIntent.CLOSE:
            return self._assess_exit(signal, book, quote, own_position, now)
        return self._assess_entry(
            signal,
            book,
            quote,
            own_position,
            now,
            size_multiplier,
            correlations or {},
            tail,
            hrp_weight,
            free_cash,
        )

    # -- exits --------------------------------------------------------------------------------
    def _assess_exit(
        self,
        signal: Signal,
        book: BookSnapshot,
        quote: Quote | None,
        position: Position | None,
        now: datetime,
    ) -> RiskOutcome:
        symbol = signal.instrument.symbol
        if book.trading_state is TradingState.HALTED:
            return _reject(
                ReasonCode.TRADING_HALTED, f"trading is halted ({book.trading_reason}); exit of {symbol} held"
            )
        if position is None or not position.is_open:
            return _reject(ReasonCode.NO_POSITION_TO_CLOSE, f"{signal.bot} holds no {symbol} to close")
        if position.side is signal.side:
            return _reject(
                ReasonCode.NO_POSITION_TO_CLOSE,
                f"a {signal.side} close would add to the {position.side} position in {symbol}",
            )
        price_problem = self._price_problem(signal.instrument, quote, now)
        if price_problem is not None:
            return price_problem
        assert quote is not None  # checked by _price_problem
        taking = _limit_would_take(signal, quote)
        if taking is not None:
            return taking
        held = abs(position.quantity)
        quantity = min(signal.close_quantity or held, held)
        intent = intent_for(signal, quantity, now, reduce_only=True)
        return RiskOutcome(
            Decision.accept(
                STAGE, f"exit {quantity} {symbol} of {held} held", details={"quantity": str(quantity)}
            ),
            intent,
        )

    # -- entries ------------------------------------------------------------------------------
    def _assess_entry(
        self,
        signal: Signal,
        book: BookSnapshot,
        quote: Quote | None,
        position: Position | None,
        now: datetime,
        size_multiplier: float,
        correlations: Mapping[str, float],
        tail: TailInputs | None,
        hrp_weight: float | None,
        free_cash: Decimal | None,
    ) -> RiskOutcome:
        limits = self.limits
        instrument = signal.instrument
        symbol = instrument.symbol
        if book.trading_state is TradingState.HALTED:
            return _reject(
                ReasonCode.TRADING_HALTED, f"trading is halted ({book.trading_reason}); no new {symbol}"
            )
        if book.trading_state is TradingState.REDUCING:
            return _reject(
                ReasonCode.TRADING_REDUCING,
                f"only exits are allowed ({book.trading_reason}); entry in {symbol} refused",
            )
        if book.daily_pnl <= -limits.daily_loss_limit_usd:
            return _reject(
                ReasonCode.DAILY_LOSS_LIMIT,
                f"daily P&L {book.daily_pnl:.2f} is at the -{limits.daily_loss_limit_usd} limit; "
                "entry refused",
            )
        if position is not None and position.is_open:
            return _reject(
                ReasonCode.ALREADY_IN_POSITION,
                f"{signal.bot} already holds {position.quantity} {symbol}; close it before a new entry",
            )
        candidate = stance_of(instrument, signal.side)
        if candidate is not None:
            for other in book.open_exposures + book.pending_entries:
                if _same_quote(signal, other):
                    continue
                if other.stance is not None and contradicts(candidate, other.stance):
                    side = "long" if other.signed_quantity > 0 else "short"
                    return _reject(
                        ReasonCode.CONTRADICTORY_POSITION,
                        f"{other.bot} is {side} {other.instrument_key} on the same underlying "
                        f"({other.underlying}); a {signal.side} of {symbol} would partly cancel it",
                    )
        last_exit = book.last_exit_at.get(instrument.key)
        if last_exit is not None and now - last_exit < limits.reentry_cooldown:
            wait = limits.reentry_cooldown - (now - last_exit)
            return _reject(
                ReasonCode.REENTRY_COOLDOWN,
                f"{symbol} was exited at {last_exit:%H:%M:%S}; "
                f"re-entry allowed in {int(wait.total_seconds())} s",
            )
        if book.position_count >= limits.max_concurrent_positions:
            return _reject(
                ReasonCode.MAX_POSITIONS,
                f"{book.position_count} positions open or pending, "
                f"the maximum is {limits.max_concurrent_positions}",
            )
        fleet_problem = _fleet_problem(signal, book, limits.fleet)
        if fleet_problem is not None:
            return fleet_problem
        price_problem = self._price_problem(instrument, quote, now)
        if price_problem is not None:
            return price_problem
        assert quote is not None  # checked by _price_problem
        taking = _limit_would_take(signal, quote)
        if taking is not None:
            return taking
        # an immediate order pays the touch; a resting quote pays its own limit, if it ever fills
        entry = quote.touch(signal.side) if signal.limit_price is None else signal.limit_price
        prediction = instrument.asset_class is AssetClass.PREDICTION
        # what the contract bought costs: the YES at the ask, or (selling YES) the NO at 1 - bid
        paid = entry if signal.side is Side.BUY else Decimal(1) - entry
        price_cap = limits.prediction_max_entry_price_by_bot.get(
            signal.bot, limits.prediction_max_entry_price
        )
        if prediction and paid > price_cap:
            bought = "YES" if signal.side is Side.BUY else "NO"
            return _reject(
                ReasonCode.PREDICTION_PRICE_CAP,
                f"{bought} of {symbol} costs {paid} per contract, above {signal.bot}'s "
                f"{price_cap} cap for prediction-market entries",
            )
        stop: Decimal | None = None
        if prediction:
            # a bought contract can lose its whole price: it is sized to lose at most the risk
            # fraction when it settles worthless ($0 for a YES, YES at $1 for a NO), as a stock
            # is at its stop (and Kelly may cut it further)
            stop = Decimal(0) if signal.side is Side.BUY else Decimal(1)
        else:
            if signal.stop is None:
                return _reject(
                    ReasonCode.SIZE_ZERO, f"entry in {symbol} has no stop, so its risk cannot be sized"
                )
            stop = Decimal(str(signal.stop))
            if (stop - entry) * signal.side.sign >= 0:
                return _reject(
                    ReasonCode.SIZE_ZERO,
                    f"stop {stop} is not on the losing side of entry {entry} ({signal.side})",
                )
        try:
            pair_risk = _pair_risk(signal.evidence) if prediction else None
        except ValueError as exc:
            return _reject(ReasonCode.SIZE_ZERO, f"{symbol}: {exc}")
        try:
            # a leg of a pair that pays $1 whatever happens has no Kelly fraction short of everything:
            # the pair's risk sizes it, below
            kelly = (
                None
                if pair_risk is not None
                else _kelly_fraction(signal.evidence, paid if prediction else entry, limits)
            )
        except (TypeError, ValueError) as exc:
            return _reject(ReasonCode.SIZE_ZERO, f"{symbol}: unusable Kelly inputs in the signal: {exc}")
        if prediction and kelly is None and pair_risk is None:
            return _reject(
                ReasonCode.SIZE_ZERO,
                f"{symbol}: a prediction-market entry is sized by Kelly and needs the signal's "
                "win_probability",
            )
        if kelly is not None and kelly <= 0:
            return _reject(ReasonCode.SIZE_ZERO, f"{symbol}: no edge after fees (Kelly fraction 0)")

        bot_multiplier = book.bot_size_multipliers.get(signal.bot, 1.0)
        fleet_multiplier = book.fleet_size_multipliers.get(signal.bot, 1.0)
        multiplier = size_multiplier * bot_multiplier * fleet_multiplier
        if pair_risk is not None:
            # one leg of a two-venue pair (YES here, NO there): both legs are sized by what the
            # pair risks, so they get the same count and the pair stays whole
            quantity = fixed_fraction_quantity(
                book.equity, limits.risk_fraction_per_trade, pair_risk, Decimal(0), multiplier
            )
        elif stop is not None:
            quantity = fixed_fraction_quantity(
                book.equity, limits.risk_fraction_per_trade, entry, stop, multiplier
            )
        else:
            quantity = Decimal("Infinity")
        if kelly is not None:
            # the Kelly stake (a fraction of equity, quarter-Kelly and capped) bounds the size
            kelly_stake = book.equity * Decimal(str(kelly)) * Decimal(str(multiplier))
            quantity = min(quantity, kelly_stake / (paid if prediction else entry))
        quantity = cap_quantity_by_notional(quantity, entry, book.equity * limits.max_position_fraction)
        quantity = cap_quantity_by_notional(quantity, entry, limits.max_order_notional_usd)
        if signal.max_quantity is not None:
            quantity = min(quantity, signal.max_quantity)  # the bot's own cap (a quote's size)
        # room under each exposure cap; the tightest one binds
        asset_class = instrument.asset_class.value
        bot_held = book.exposure_of(bot=signal.bot)
        rooms: list[tuple[ReasonCode, Decimal, str]] = [
            (
                ReasonCode.GROSS_EXPOSURE,
                book.equity * limits.gross_exposure_cap_fraction - book.gross_exposure,
                f"gross exposure {book.gross_exposure:.2f} leaves no room under the "
                f"{limits.gross_exposure_cap_fraction:.0%} cap of equity {book.equity:.2f}",
            ),
            (
                ReasonCode.BOT_EXPOSURE,
                book.equity * limits.max_bot_exposure_fraction - bot_held,
                f"{signal.bot} holds {bot_held:.2f}, no room under its "
                f"{limits.max_bot_exposure_fraction:.0%} share of equity {book.equity:.2f}",
            ),
        ]
        if free_cash is not None and (signal.side is Side.BUY or prediction):
            # rooms are notional at `entry`; a NO is paid at 1 - bid, so its cash room is rescaled
            rooms.append(
                (
                    ReasonCode.INSUFFICIENT_CASH,
                    free_cash if signal.side is Side.BUY else free_cash * entry / paid,
                    f"the {instrument.venue} account has {free_cash:.2f} free, less than a lot of {symbol}",
                )
            )
        fleet = limits.fleet
        if fleet is not None and signal.bot in fleet.members:
            held_by_fleet = book.exposure_of(bots=fleet.members)
            rooms.append(
                (
                    ReasonCode.FLEET_EXPOSURE,
                    book.equity * fleet.gross_exposure_cap_fraction - held_by_fleet,
                    f"the fleet holds {held_by_fleet:.2f}, no room under its "
                    f"{fleet.gross_exposure_cap_fraction:.0%} cap of equity {book.equity:.2f}",
                )
            )
        class_cap = limits.max_asset_class_exposure_fraction.get(asset_class)
        if class_cap is not None:
            held = book.exposure_of(asset_class=asset_class)
            rooms.append(
                (
                    ReasonCode.ASSET_CLASS_EXPOSURE,
                    book.equity * class_cap - held,
                    f"{asset_class} exposure {held:.2f} leaves no room under its {class_cap:.0%} "
                    f"cap of equity {book.equity:.2f}",
                )
            )
        if correlations:
            by_market: dict[str, Decimal] = {}
            for e in book.open_exposures + book.pending_entries:
                signed = e.signed_notional
                by_market[e.instrument_key] = by_market.get(e.instrument_key, Decimal(0)) + signed
            together = Decimal(
                str(
                    correlated_exposure(
                        signal.side.sign,
                        {k: (1 if v > 0 else -1, float(abs(v))) for k, v in by_market.items() if v != 0},
                        correlations,
                        limits.correlation_threshold,
                    )
                )
            )
            rooms.append(
                (
                    ReasonCode.CORRELATED_EXPOSURE,
                    book.equity * limits.max_correlated_exposure_fraction - together,
                    f"{together:.2f} is already held in markets moving with {symbol} "
                    f"(correlation above {limits.correlation_threshold}); the cap is "
                    f"{limits.max_correlated_exposure_fraction:.0%} of equity {book.equity:.2f}",
                )
            )
        if hrp_weight is not None:
            share = book.equity * limits.gross_exposure_cap_fraction * Decimal(str(hrp_weight))
            rooms.append(
                (
                    ReasonCode.HRP_ALLOCATION,
                    share,
                    f"{symbol}'s risk-parity share of the book is {hrp_weight:.1%}, "
                    f"{share:.2f} of the gross cap; less than one lot",
                )
            )
        binding_code, room, binding_message = min(rooms, key=lambda r: r[1])
        capped = cap_quantity_by_notional(quantity, entry, room)
        cut_by = binding_code.value if capped < quantity else None
        quantity = instrument.round_quantity(capped)
        if quantity <= 0:
            if cut_by is not None:
                return _reject(binding_code, binding_message)
            return _reject(ReasonCode.SIZE_ZERO, f"risk budget buys less than one lot of {symbol}")
        cvar_scale = 1.0
        if tail is not None and len(tail.book_pnl) >= 20:
            candidate_pnl = tail.candidate_returns * float(quantity * entry) * signal.side.sign
            budget = float(book.equity) * limits.cvar_budget_fraction
            cvar_scale = largest_scale_within_budget(
                tail.book_pnl, candidate_pnl, budget, limits.cvar_method, limits.cvar_confidence
            )
            if cvar_scale < 1.0:
                quantity = instrument.round_quantity(quantity * Decimal(str(cvar_scale)))
                cut_by = ReasonCode.CVAR_BUDGET.value
            if quantity <= 0:
                book_cvar = sample_cvar(tail.book_pnl, limits.cvar_method, limits.cvar_confidence)
                return _reject(
                    ReasonCode.CVAR_BUDGET,
                    f"the book's {limits.cvar_confidence:.0%} CVaR is {book_cvar:.2f}; adding {symbol} "
                    f"would pass the budget of {budget:.2f} ({limits.cvar_budget_fraction:.0%} of equity)",
                )
        notional = quantity * entry
        if quantity < instrument.min_quantity or notional < instrument.min_notional:
            return _reject(
                ReasonCode.BELOW_VENUE_MINIMUM,
                f"{quantity} {symbol} ({notional:.2f} USD) is below the venue minimum "
                f"({instrument.min_quantity} units, {instrument.min_notional} USD)",
            )
        intent = intent_for(signal, quantity, now, reduce_only=False)
        details = {
            "quantity": str(quantity),
            "entry_estimate": str(entry),
            "stop": None if stop is None else str(stop),
            "kelly_fraction": kelly,
            "risk_usd": str(((entry - (stop or 0)) * quantity).copy_abs().quantize(Decimal("0.01"))),
            "notional_usd": str(notional.quantize(Decimal("0.01"))),
            "size_multiplier": multiplier,
            "bot_size_multiplier": bot_multiplier,
            "fleet_size_multiplier": fleet_multiplier,
            "cut_by_cap": cut_by,
            "cvar_scale": cvar_scale,
            "hrp_weight": hrp_weight,
        }
        message = f"buy {quantity}" if signal.side is Side.BUY else f"sell {quantity}"
        return RiskOutcome(
            Decision.accept(
                STAGE,
                f"{message} {symbol} at ~{entry}"
                + ("" if stop is None else f", stop {instrument.round_price(stop)}"),
                details=details,
            ),
            intent,
        )

    def _price_problem(
        self, instrument: Instrument, quote: Quote | None, now: datetime
    ) -> RiskOutcome | None:
        if quote is None:
            return _reject(ReasonCode.NO_PRICE, f"no price for {instrument.symbol}; nothing sent")
        age = quote.age_seconds(now)
        max_age = self.limits.max_quote_age_seconds.get(instrument.asset_class.value, 10.0)
        if age > max_age:
            return _reject(
                ReasonCode.STALE_PRICE,
                f"price for {instrument.symbol} is {age:.0f} s old (limit {max_age:.0f} s); nothing sent",
            )
        return None


def _kelly_fraction(evidence: Mapping[str, object], entry: Decimal, limits: RiskLimits) -> float | None:
    """The capped fractional-Kelly stake the signal's evidence supports, or None without inputs.

    A binary contract bought at `entry` uses `win_probability` (and `fee_per_contract`, default
    0); a continuous payoff uses `win_rate` and `payoff_ratio`. ValueError on unusable values.
    """
    if "win_probability" in evidence:
        fee = float(str(evidence.get("fee_per_contract", 0.0)))
        full = binary_kelly_fraction(float(str(evidence["win_probability"])), float(entry), fee)
    elif "win_rate" in evidence and "payoff_ratio" in evidence:
        full = win_rate_kelly_fraction(float(str(evidence["win_rate"])), float(str(evidence["payoff_ratio"])))
    else:
        return None
    return position_fraction(full, limits.kelly_multiplier, limits.kelly_cap)


def _limit_would_take(signal: Signal, quote: Quote) -> RiskOutcome | None:
    """A rejection for a resting quote priced through the book (it would take at once), else None."""
    limit = signal.limit_price
    if limit is None:
        return None
    if signal.side is Side.BUY and limit >= quote.ask:
        why = f"a bid at {limit} reaches the ask {quote.ask}"
    elif signal.side is Side.SELL and limit <= quote.bid:
        why = f"an offer at {limit} reaches the bid {quote.bid}"
    else:
        return None
    return _reject(
        ReasonCode.LIMIT_WOULD_TAKE,
        f"{signal.instrument.symbol}: {why}; a resting quote must not take liquidity",
    )


def _same_quote(signal: Signal, other: Exposure) -> bool:
    """Whether `other` is the other side of the same bot's two-sided quote on the same market:
    a bid and an offer resting together are one quote, not two views that cancel."""
    return (
        signal.limit_price is not None
        and other.resting
        and other.bot == signal.bot
        and other.instrument_key == signal.instrument.key
    )


def _pair_risk(evidence: Mapping[str, object]) -> Decimal | None:
    """`pair_risk_per_contract` of a cross-venue pair's leg (what one YES plus one NO cost with
    their fees), or None for a single bet. ValueError for a value outside (0, 1]."""
    raw = evidence.get("pair_risk_per_contract")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise ValueError(f"pair_risk_per_contract {raw!r} is not a number")
    value = Decimal(str(raw))
    if not (value.is_finite() and 0 < value <= 1):
        raise ValueError(f"pair_risk_per_contract {raw!r} must lie in (0, 1]")
    return value


def _fleet_problem(signal: Signal, book: BookSnapshot, fleet: FleetLimits | None) -> RiskOutcome | None:
    """The fleet's daily loss and position limits, for an entry of one of its sub-bots."""
    if fleet is None or signal.bot not in fleet.members:
        return None
    if book.fleet_daily_pnl is not None and book.fleet_daily_pnl <= -fleet.daily_loss_limit_usd:
        return _reject(
            ReasonCode.FLEET_DAILY_LOSS,
            f"the fleet's P&L today {book.fleet_daily_pnl:.2f} is at its -{fleet.daily_loss_limit_usd} "
            f"limit; entries of its sub-bots refused until midnight (exits go on)",
        )
    held = {
        (e.bot, e.instrument_key)
        for e in book.open_exposures + book.pending_entries
        if e.bot in fleet.members
    }
    if len(held) >= fleet.max_positions:
        return _reject(
            ReasonCode.FLEET_MAX_POSITIONS,
            f"the fleet's sub-bots hold {len(held)} positions open or pending, "
            f"its maximum is {fleet.max_positions}",
        )
    return None


def _reject(code: ReasonCode, message: str) -> RiskOutcome:
    return RiskOutcome(Decision.reject(STAGE, code, message))
