"""The event-trading bot: buys the YES of prediction markets its domain sources say are cheap.

Each tick it walks its markets that are trading now, asks the edge desk for the domain
sources' estimates, and takes their consensus against the crowd's mid. Where at least two
sources agree that YES is worth more than the crowd pays, and YES costs no more than
`max_price`, it signals an entry carrying the consensus (`win_probability`, which the risk
engine sizes by quarter-Kelly after the venue's fee) and every source's probability (which
the gate stage prices again, through its three gates). A held position is closed when the
consensus turns to NO and puts the YES at least `exit_margin` under the bid ("unless the edge
reverses"); otherwise it is held to settlement.

Only YES is bought: our prediction instruments are the YES contract of each market, and a
NO entry would be a short YES, which the Kelly sizing of a bought contract does not describe.

Parameters: `domains` (default all the desk prices), `max_price` (default 0.30, the risk
engine's cap; entries above it are not even signalled), `exit_margin` (default 0.05);
`min_sources` is the desk's.
"""

from __future__ import annotations

from collections.abc import Sequence
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
            holding = position is not None and position.is_open
            if not holding and quote.ask > self.max_price:
                continue
            found = await desk.estimates(contract, ctx.now)
            if len(found.estimates) < desk.settings.min_sources:
                continue
            verdict = desk.consensus(contract, found, float(quote.mid))
            evidence: dict[str, Any] = {
                "consensus": verdict.to_dict(),
                "estimates": {e.source: e.probability for e in found.estimates},
                "missing": {m.source: m.reason for m in found.missing},
                "domain": contract.domain.value,
                "crowd_price": float(quote.mid),
            }
            if holding:
                # sell only when the bid beats what the YES is worth by the margin: a NO consensus a
                # hair under a one-cent bid is rounding, and selling there pays the spread for nothing
                worth = verdict.probability
                reversed_ = verdict.side == "no" and worth is not None
                if reversed_ and worth is not None and worth <= float(quote.bid) - self.exit_margin:
                    signals.append(
                        self.signal(
                            ctx,
                            instrument,
                            Side.SELL,
                            SignalIntent.CLOSE,
                            confidence=1.0,
                            edge=0.0,
                            stop=None,
                            reason=f"the edge reversed: {verdict.reason}; the bid is {quote.bid}",
                            evidence=evidence,
                            sequence=index,
                        )
                    )
                continue
            if verdict.side != "yes" or verdict.probability is None:
                continue
            evidence["win_probability"] = verdict.probability
            signals.append(
                self.signal(
                    ctx,
                    instrument,
                    Side.BUY,
                    SignalIntent.OPEN,
                    confidence=verdict.probability,
                    edge=verdict.probability - float(quote.ask),
                    stop=None,
                    reason=verdict.reason,
                    evidence=evidence,
                    sequence=index,
                )
            )
        return signals


def event_trading_bots(bots: Sequence[Bot]) -> list[EventTradingBot]:
    return [bot for bot in bots if isinstance(bot, EventTradingBot)]
