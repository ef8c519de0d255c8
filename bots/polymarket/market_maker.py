"""Market maker: rests a bid and an offer on Polymarket markets around the model's fair value.

The bot trades the markets of its `venue` (Polymarket) and reads those of its `second_venue`
(Kalshi) only to price them: a Polymarket market and its Kalshi twin ask one question
(`bots.polymarket.matching`, refused across differing resolution sources), and the fair value is
what the domain sources' consensus says of the Kalshi twin (the edge desk the event-trading bots
use; the sources know Kalshi's questions). Each tick, for at most `max_markets` markets whose fair
value lies within [`min_fair`, `max_fair`], it rests the quotes of `strategies.market_making`:
a bid under and an offer over the reservation price, leaning against inventory, never crossing
the book, each leaving `min_edge` against the fair value. The orchestrator cancels a bot's resting
orders at its next tick, so each tick quotes afresh from what the bot then holds.

Inventory: the road holds one position per bot and market, so a maker that holds one quotes only
the side that reduces it (its offer when long YES, its bid when short), as a resting close of at
most what it holds; flat, it quotes both sides, each of at most `quote_size` contracts, and the
risk engine may size them smaller. Inventory is therefore never more than `quote_size` either way,
the limit `max_inventory` sets for the quoting rule. What is still held at settlement settles.

Params (all optional): half_spread 0.02, skew 0.001, min_edge 0.01, quote_size 10,
max_inventory 10, min_price 0.05, max_price 0.95, max_markets 4, min_fair 0.15, max_fair 0.85.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bots.base import BotContext, BotSpec
from bots.event_trading.desk import EdgeDesk
from bots.polymarket.matching import PairedMarkets
from bots.self_priced import SelfPricedBot
from domain.fees import FEE_LOT
from domain.instruments import Instrument
from domain.signals import Side, Signal, SignalIntent
from strategies.market_making import Level, QuoteParams, make_quotes
from strategies.params import parse_params, require_finite, require_whole_at_least


@dataclass(frozen=True, slots=True)
class MarketSelection:
    """Which matched markets the bot quotes; the quoting itself is `QuoteParams`."""

    max_markets: int = 4
    min_fair: float = 0.15
    max_fair: float = 0.85

    def __post_init__(self) -> None:
        require_whole_at_least("max_markets", self.max_markets, 1)
        require_finite("min_fair", self.min_fair)
        require_finite("max_fair", self.max_fair)
        if not 0 < self.min_fair < self.max_fair < 1:
            raise ValueError(
                f"min_fair and max_fair must satisfy 0 < min < max < 1, got {self.min_fair}, {self.max_fair}"
            )


_SELECTION = frozenset(f.name for f in dataclasses.fields(MarketSelection))


class MarketMakerBot(SelfPricedBot):
    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        quoting = {name: value for name, value in spec.params.items() if name not in _SELECTION}
        self.params = QuoteParams.from_mapping(quoting)
        self.selection = parse_params(
            MarketSelection, {name: value for name, value in spec.params.items() if name in _SELECTION}
        )
        self._desk: EdgeDesk | None = None
        self._pairs = PairedMarkets()

    def attach(self, desk: EdgeDesk) -> None:
        """The daemon's edge desk, whose domain sources give the fair value."""
        self._desk = desk

    def twins(self) -> list[tuple[Instrument, Instrument]]:
        """(quoted Polymarket market, its Kalshi twin) of every matched pair."""
        return [(polymarket, kalshi) for kalshi, polymarket in self._pairs.of(self.instruments)]

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        desk = self._desk
        if desk is None:
            raise RuntimeError(f"{self.name}: no edge desk attached (the daemon wires one for these bots)")
        signals: list[Signal] = []
        quoted = 0
        for index, (market, twin) in enumerate(self.twins()):
            position = ctx.position(market)
            inventory = position.quantity if position is not None and position.is_open else Decimal(0)
            if not inventory and quoted >= self.selection.max_markets:
                continue
            quote = await ctx.quote(market)
            contract = twin.contract
            if quote is None or contract is None:
                continue
            found = await desk.estimates(contract, ctx.now)
            fair = desk.fair_value(contract, found)
            selection = self.selection
            if fair is None or (not inventory and not selection.min_fair <= fair <= selection.max_fair):
                continue
            quotes = make_quotes(fair, inventory, quote.bid, quote.ask, market.tick_size, self.params)
            evidence: dict[str, Any] = {
                "fair_value": fair,
                "reservation": quotes.reservation,
                "inventory": float(inventory),
                "estimates": {e.source: e.probability for e in found.estimates},
                "priced_by": twin.key,
            }
            sides = (
                (Side.BUY, quotes.bid, fair),  # a bid buys YES, worth the fair value
                (Side.SELL, quotes.ask, 1.0 - fair),  # an offer sells YES: the NO, worth 1 - fair
            )
            for leg, (side, level, worth) in enumerate(sides):
                if level is None:
                    continue
                signal = self._quote(ctx, market, side, level, inventory, worth, evidence, 2 * index + leg)
                if signal is not None:
                    signals.append(signal)
            quoted += 1
        return signals

    def _quote(
        self,
        ctx: BotContext,
        market: Instrument,
        side: Side,
        level: Level,
        inventory: Decimal,
        worth: float,
        evidence: dict[str, Any],
        sequence: int,
    ) -> Signal | None:
        """A resting quote of `level`: an entry when flat, a close of what it reduces when holding,
        None for a side that would add to what is held (one position per bot and market)."""
        reduces = inventory * side.sign < 0
        if inventory and not reduces:
            return None
        maker_fee = self.fee_schedule(market.venue).fee(FEE_LOT, level.price, True) / FEE_LOT
        paid = level.price if side is Side.BUY else Decimal(1) - level.price
        what = "bid" if side is Side.BUY else "offer"
        reason = (
            f"{what} {level.size} at {level.price} around fair {evidence['fair_value']:.3f} "
            f"(reservation {evidence['reservation']:.3f}, inventory {inventory})"
        )
        close = min(level.size, abs(inventory)) if reduces else None
        return self.signal(
            ctx,
            market,
            side,
            SignalIntent.CLOSE if reduces else SignalIntent.OPEN,
            confidence=min(max(worth, 0.0), 1.0),
            edge=worth - float(paid),
            stop=None,
            reason=reason,
            evidence={**evidence, "win_probability": worth, "fee_per_contract": float(maker_fee)},
            sequence=sequence,
            close_quantity=close,
            limit_price=level.price,
            max_quantity=None if reduces else level.size,
        )
