"""The event-trading bot: buys the side of a prediction market its domain sources say is cheap.

Each tick it walks its markets that are trading now, asks the edge desk for the domain
sources' estimates, and takes their consensus against the crowd's mid. Where at least two
sources agree on a side and that side costs no more than `max_price`, it signals an entry
carrying the consensus (`win_probability`: the side's probability, which the risk engine sizes
by quarter-Kelly after the venue's fee) and every source's probability (which the gate stage
prices again, through its three gates). Our instruments are each market's YES contract: YES is
bought at the ask (a BUY), NO by selling YES at the bid (a SELL; it costs 1 − bid, and the
paper venue and the risk engine treat it as the NO bought). A held position is closed when the
consensus turns against it and the other side of the book beats what it is worth by
`exit_margin` ("unless the edge reverses"); otherwise it is held to settlement.

Parameters: `domains` (default all the desk prices), `max_price` (default 0.30, the risk
engine's cap; entries above it are not even signalled), `exit_margin` (default 0.05);
`min_sources` is the desk's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bots.base import Bot, BotContext, BotSpec
from bots.event_trading.desk import EdgeDesk
from domain.contracts import Domain
from domain.signals import Side, Signal, SignalIntent


class EventTradingBot(Bot):
    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        params = dict(spec.params)
        raw_domains = params.pop("domains", None)
        self.domains: frozenset[Domain]
        if raw_domains is None:
            self.domains = frozenset(d for d in Domain if d is not Domain.UNKNOWN)
        else:
            if not isinstance(raw_domains, list) or not raw_domains:
                raise ValueError("domains must be a non-empty list, e.g. ['weather', 'economics']")
            tradable = {d.value: d for d in Domain if d is not Domain.UNKNOWN}
            unknown = [d for d in raw_domains if str(d) not in tradable]
            if unknown:
                known = ", ".join(tradable)
                raise ValueError(f"domains {raw_domains!r}: each must be one of {known}")
            self.domains = frozenset(tradable[str(d)] for d in raw_domains)
        max_price = params.pop("max_price", 0.30)
        if isinstance(max_price, bool) or not isinstance(max_price, int | float) or not 0 < max_price < 1:
            raise ValueError(f"max_price must be a price between 0 and 1, got {max_price!r}")
        self.max_price = Decimal(str(max_price))
        exit_margin = params.pop("exit_margin", 0.05)
        if (
            isinstance(exit_margin, bool)
            or not isinstance(exit_margin, int | float)
            or not 0 <= exit_margin < 1
        ):
            raise ValueError(f"exit_margin must be between 0 and 1, got {exit_margin!r}")
        self.exit_margin = float(exit_margin)
        if params:
            known = "domains, max_price, exit_margin"
            raise ValueError(f"unknown parameter(s) {', '.join(sorted(params))} (known: {known})")
        without_terms = [i.symbol for i in spec.instruments if i.contract is None]
        if without_terms:
            raise ValueError(
                f"{', '.join(without_terms[:3])}: no contract terms (strike, domain) for this market; "
                "an event-trading bot trades prediction markets its venue describes"
            )
        self._desk: EdgeDesk | None = None

    def attach(self, desk: EdgeDesk) -> None:
        """The daemon's edge desk (sources, calibration, tape), given when the daemon is built."""
        self._desk = desk

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        desk = self._desk
        if desk is None:
            raise RuntimeError(f"{self.name}: no edge desk attached (the daemon wires one for these bots)")
        signals: list[Signal] = []
        for index, instrument in enumerate(self.instruments):
            contract = instrument.contract
            if contract is None or contract.domain not in self.domains:
                continue
            quote = await ctx.quote(instrument)
            if quote is None:
                continue  # not trading now (before it opens, after it closes)
            position = ctx.position(instrument)
            held = position.side if position is not None and position.is_open else None
            yes_cost, no_cost = quote.ask, Decimal(1) - quote.bid
            if held is None and min(yes_cost, no_cost) > self.max_price:
                continue  # neither side is cheap enough to buy
            found = await desk.estimates(contract, ctx.now)
            if len(found.estimates) < desk.settings.min_sources:
                continue
            verdict = desk.consensus(contract, found, float(quote.mid))
            p_yes = verdict.probability
            evidence: dict[str, Any] = {
                "consensus": verdict.to_dict(),
                "estimates": {e.source: e.probability for e in found.estimates},
                "missing": {m.source: m.reason for m in found.missing},
                "domain": contract.domain.value,
                "crowd_price": float(quote.mid),
            }
            if held is not None:
                # close only when the other side of the book beats what the contract held is worth
                # by the margin: a reversal a hair past a one-cent quote is rounding, and trading
                # there pays the spread for nothing
                if p_yes is None:
                    continue
                if held is Side.BUY:
                    reversed_ = verdict.side == "no" and p_yes <= float(quote.bid) - self.exit_margin
                else:
                    reversed_ = verdict.side == "yes" and p_yes >= float(quote.ask) + self.exit_margin
                if reversed_:
                    signals.append(
                        self.signal(
                            ctx,
                            instrument,
                            held.opposite,
                            SignalIntent.CLOSE,
                            confidence=1.0,
                            edge=0.0,
                            stop=None,
                            reason=f"the edge reversed: {verdict.reason}; bid {quote.bid}, ask {quote.ask}",
                            evidence=evidence,
                            sequence=index,
                        )
                    )
                continue
            if p_yes is None or verdict.side is None:
                continue
            # YES is bought at the ask; NO is bought by selling YES at the bid (it costs 1 - bid)
            side, cost, p_side = (
                (Side.BUY, yes_cost, p_yes) if verdict.side == "yes" else (Side.SELL, no_cost, 1.0 - p_yes)
            )
            if cost > self.max_price:
                continue
            evidence["win_probability"] = p_side
            evidence["contract_side"] = verdict.side
            signals.append(
                self.signal(
                    ctx,
                    instrument,
                    side,
                    SignalIntent.OPEN,
                    confidence=p_side,
                    edge=p_side - float(cost),
                    stop=None,
                    reason=verdict.reason,
                    evidence=evidence,
                    sequence=index,
                )
            )
        return signals
