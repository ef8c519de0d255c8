"""Cross-venue arbitrage: YES on one venue and NO on the other of the same question, for less than $1.

The bot trades the markets of its `venue` (Kalshi) and of its `second_venue` (Polymarket). Each
tick it pairs them by their terms (`bots.polymarket.matching`: same domain, measure, subject,
day or period and strike; refused when the two settle on different sources, because then both
legs can lose) and prices each pair's two directions after both venues' taker fees
(`strategies.cross_venue_arbitrage`). Where the better direction leaves at least `min_edge` a
pair, it signals both legs: the YES bought at its venue's ask, the NO bought by selling YES at
the other venue's bid. Both carry the pair's cost as `pair_risk_per_contract`: together they pay
$1 whatever happens, so the risk engine sizes each leg by what the pair risks (not by Kelly, which
has no fraction short of everything for a sure dollar), and both get the same count.

A pair is then held to settlement. What the road leaves unbalanced is mended on the next tick:
a leg held without its twin (the other leg refused or not filled) is closed, since alone it is
a directional bet the bot never meant to make; a leg larger than its twin is trimmed to it.

Params (all optional): min_edge 0.01 (dollars a pair, after fees), fee_lot 100 (the order size
the fees are priced at; Kalshi rounds an order's fee up to the cent).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bots.base import BotContext, BotSpec
from bots.polymarket.matching import PairedMarkets
from bots.self_priced import SelfPricedBot
from domain.instruments import Instrument
from domain.signals import Side, Signal, SignalIntent
from strategies.cross_venue_arbitrage import KALSHI, ArbitrageQuote, Book, best_arbitrage
from strategies.params import parse_params, require_finite, require_whole_at_least


@dataclass(frozen=True, slots=True)
class ArbitrageParams:
    min_edge: float = 0.01
    fee_lot: int = 100

    def __post_init__(self) -> None:
        require_finite("min_edge", self.min_edge)
        if not 0 <= self.min_edge < 1:
            raise ValueError(f"min_edge must lie in [0, 1) dollars a pair, got {self.min_edge}")
        require_whole_at_least("fee_lot", self.fee_lot, 1)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ArbitrageParams:
        return parse_params(cls, values)

    def with_values(self, **changes: Any) -> ArbitrageParams:
        return dataclasses.replace(self, **changes)


class CrossVenueArbitrageBot(SelfPricedBot):
    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        self.params = ArbitrageParams.from_mapping(spec.params)
        self._pairs = PairedMarkets()

    def pairs(self) -> list[tuple[Instrument, Instrument]]:
        """(Kalshi instrument, Polymarket instrument) of every matched pair."""
        return self._pairs.of(self.instruments)

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        signals: list[Signal] = []
        pairs = self.pairs()
        held = {i: (_signed(ctx, k), _signed(ctx, p)) for i, (k, p) in enumerate(pairs)}
        # one pair per event: two pairs on one ladder would hold two of its brackets on each venue,
        # which the contradictory-position blocker refuses (two NOs on one ladder always pay once)
        busy = {_event(pairs[i][0]) for i, (k, p) in held.items() if k or p}
        for index, (kalshi, polymarket) in enumerate(pairs):
            held_k, held_p = held[index]
            if held_k or held_p:
                signals.extend(self._mend(ctx, index, (kalshi, held_k), (polymarket, held_p)))
                continue
            if _event(kalshi) in busy:
                continue
            quote_k, quote_p = await ctx.quote(kalshi), await ctx.quote(polymarket)
            if quote_k is None or quote_p is None:
                continue  # one side not trading: no pair to price
            priced = best_arbitrage(
                Book(quote_k.bid, quote_k.ask),
                Book(quote_p.bid, quote_p.ask),
                self.fee_schedule(kalshi.venue),
                self.fee_schedule(polymarket.venue),
                Decimal(self.params.fee_lot),
            )
            if priced is None or priced.edge < Decimal(str(self.params.min_edge)):
                continue
            yes_leg, no_leg = (kalshi, polymarket) if priced.yes_venue == KALSHI else (polymarket, kalshi)
            signals.extend(self._legs(ctx, index, yes_leg, no_leg, priced))
            busy.add(_event(kalshi))
        return signals

    def _legs(
        self, ctx: BotContext, index: int, yes_leg: Instrument, no_leg: Instrument, priced: ArbitrageQuote
    ) -> list[Signal]:
        reason = (
            f"YES {yes_leg.venue} at {priced.yes_price} + NO {no_leg.venue} at {priced.no_price} + fees "
            f"{priced.fees / priced.contracts:.4f} = {priced.cost:.4f} for a sure $1: "
            f"edge {priced.edge:.4f} a pair"
        )
        evidence: dict[str, Any] = {
            "pair_risk_per_contract": float(priced.cost),
            "pair_edge": float(priced.edge),
            "yes_leg": yes_leg.key,
            "no_leg": no_leg.key,
        }
        return [
            self.signal(
                ctx,
                instrument,
                side,
                SignalIntent.OPEN,
                confidence=1.0,
                edge=float(priced.edge),
                stop=None,
                reason=reason,
                evidence={**evidence, "contract_side": contract_side},
                sequence=2 * index + leg,
            )
            for leg, (instrument, side, contract_side) in enumerate(
                ((yes_leg, Side.BUY, "yes"), (no_leg, Side.SELL, "no"))
            )
        ]

    def _mend(
        self,
        ctx: BotContext,
        index: int,
        first: tuple[Instrument, Decimal],
        second: tuple[Instrument, Decimal],
    ) -> list[Signal]:
        """Close a leg held alone, or trim the larger leg to its twin; a whole pair is held."""
        (a, held_a), (b, held_b) = first, second
        if held_a and held_b and held_a * held_b < 0 and abs(held_a) == abs(held_b):
            return []  # a whole pair (YES here, NO there), held to settlement
        if not (held_a and held_b) or held_a * held_b > 0:
            # one leg alone (or two legs on one side, which no pair is): close what is held
            return [
                self._close(ctx, leg, held, None, f"{leg.symbol} is held without its twin leg", 2 * index + n)
                for n, (leg, held) in enumerate(((a, held_a), (b, held_b)))
                if held
            ]
        if abs(held_a) > abs(held_b):
            larger, held, excess = a, held_a, abs(held_a) - abs(held_b)
        else:
            larger, held, excess = b, held_b, abs(held_b) - abs(held_a)
        why = f"{larger.symbol} is {excess} larger than its twin leg"
        return [self._close(ctx, larger, held, excess, why, 2 * index)]

    def _close(
        self,
        ctx: BotContext,
        instrument: Instrument,
        held: Decimal,
        quantity: Decimal | None,
        why: str,
        sequence: int,
    ) -> Signal:
        """A CLOSE of `held` (all of it, or `quantity` of it)."""
        return self.signal(
            ctx,
            instrument,
            Side.SELL if held > 0 else Side.BUY,
            SignalIntent.CLOSE,
            confidence=1.0,
            edge=0.0,
            stop=None,
            reason=f"{why}: the pair is mended",
            evidence={"held": float(held)},
            sequence=sequence,
            close_quantity=quantity,
        )


def _signed(ctx: BotContext, instrument: Instrument) -> Decimal:
    position = ctx.position(instrument)
    return position.quantity if position is not None and position.is_open else Decimal(0)


def _event(instrument: Instrument) -> str:
    contract = instrument.contract
    return instrument.key if contract is None else contract.event
