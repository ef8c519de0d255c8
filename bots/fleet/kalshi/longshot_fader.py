"""Longshot fader: buys the NO of Kalshi contracts whose YES the crowd overprices at a few cents.

The rule and its evidence are `strategies/longshot.py` (Becker 2026's bias curve). Each tick, for
every market of the bot that is trading: flat and the YES mid a longshot with an edge after the
taker fee, sell the YES at the bid (the NO bought at 1 - bid; the risk engine sizes it by Kelly
from `win_probability`, and it needs this bot's `prediction_max_entry_price` in the registry,
since a NO at 94 cents is above the engine's default 30-cent cap). Holding a fade, buy it back
when the YES bid reaches `exit_yes_price`; otherwise hold to settlement.

Params (all optional): min_yes_price 0.02, max_yes_price 0.12, min_edge 0.005, exit_yes_price 0.30,
slope (default Becker's fit, 1.1006).
"""

from __future__ import annotations

from bots.base import BotContext, BotSpec
from bots.self_priced import SelfPricedBot
from domain.positions import Position
from domain.signals import Side, Signal, SignalIntent
from strategies.longshot import BECKER_ANCHORS, FadeParams, price_fade, should_buy_back


class LongshotFaderBot(SelfPricedBot):
    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        self.params = FadeParams.from_mapping(spec.params)

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        signals: list[Signal] = []
        params = self.params
        held = {i.key for i in self.instruments if _is_open(ctx.position(i))}
        # one fade per event: NOs on two brackets of one ladder always pay at least once between
        # them, a locked dollar that the contradictory-position blocker refuses anyway
        faded_events = {i.contract.event for i in self.instruments if i.key in held and i.contract}
        for index, instrument in enumerate(self.instruments):
            contract = instrument.contract
            if contract is None or (instrument.key not in held and contract.event in faded_events):
                continue
            quote = await ctx.quote(instrument)
            if quote is None:
                continue  # not trading now
            position = ctx.position(instrument)
            if position is not None and position.is_open:
                if position.side is Side.SELL and should_buy_back(quote.bid, params):
                    signals.append(
                        self.signal(
                            ctx,
                            instrument,
                            Side.BUY,
                            SignalIntent.CLOSE,
                            confidence=1.0,
                            edge=0.0,
                            stop=None,
                            reason=(
                                f"YES bid {quote.bid} reached {params.exit_yes_price}: the crowd no longer "
                                "calls it a longshot, the fade is bought back"
                            ),
                            evidence={"yes_bid": float(quote.bid), "exit_yes_price": params.exit_yes_price},
                            sequence=index,
                        )
                    )
                continue
            fade = price_fade(quote.bid, quote.ask, self.taker_fee(instrument.venue, quote.bid), params)
            if fade is None:
                continue
            signals.append(
                self.signal(
                    ctx,
                    instrument,
                    Side.SELL,
                    SignalIntent.OPEN,
                    confidence=fade.no_probability,
                    edge=fade.edge,
                    stop=None,
                    reason=(
                        f"YES at {fade.yes_mid:.3f} wins {1 - fade.no_probability:.2%} by the longshot "
                        "curve; "
                        f"NO at {fade.no_cost} + fee {fade.fee} wins {fade.no_probability:.2%}: "
                        f"edge {fade.edge:.4f} a contract"
                    ),
                    evidence={
                        "win_probability": fade.no_probability,
                        "contract_side": "no",
                        "crowd_price": fade.yes_mid,
                        "fee_per_contract": float(fade.fee),
                        "bias_slope": params.slope,
                        "bias_anchors": [list(anchor) for anchor in BECKER_ANCHORS],
                    },
                    sequence=index,
                )
            )
            faded_events.add(contract.event)
        return signals


def _is_open(position: Position | None) -> bool:
    return position is not None and position.is_open
