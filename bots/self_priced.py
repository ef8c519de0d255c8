"""Prediction-market bots that price their markets themselves, not by the domain sources' consensus.

The event-trading bot's entries are priced again by the consensus stage (two or more independent
sources must agree). A bias fader or a cross-venue arbitrage has no forecast to agree on: its price
is a curve of the crowd's own price, or another venue's book. Such a bot subclasses
`SelfPricedBot`: the consensus stage lets its entries through on its own evidence (the risk
engine still sizes and limits them), and the daemon gives it the venues' fee schedules, because
its edge is only an edge after the fee.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from bots.base import Bot, BotSpec
from domain.fees import FeeSchedule, taker_fee_per_contract


class SelfPricedBot(Bot):
    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        without_terms = [i.symbol for i in spec.instruments if i.contract is None]
        if without_terms:
            raise ValueError(
                f"{', '.join(without_terms[:3])}: not a prediction market with terms (domain, day, "
                "strike); this bot prices binary contracts by what they ask"
            )
        self._fees: dict[str, FeeSchedule] = {}

    def attach_fees(self, fees: Mapping[str, FeeSchedule]) -> None:
        """The fee schedule of each prediction venue, by venue name (given when the daemon is built)."""
        self._fees = dict(fees)

    def fee_schedule(self, venue: str) -> FeeSchedule:
        """The fee schedule of `venue`; a venue without one is an error, never a free venue."""
        schedule = self._fees.get(venue)
        if schedule is None:
            raise RuntimeError(f"{self.name}: no fee schedule for venue {venue!r} (the daemon attaches them)")
        return schedule

    def taker_fee(self, venue: str, price: Decimal) -> Decimal:
        """The taker fee of one contract at `price` on `venue`."""
        return taker_fee_per_contract(self.fee_schedule(venue), price)
