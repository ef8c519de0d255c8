"""BrokerRouter: the last hop. The bot's venue and mode pick the broker; paper and live share the road."""

from __future__ import annotations

from collections.abc import Mapping

from brokers.base import Broker, BrokerError, VenueOrder
from domain.orders import OrderStatus
from domain.pipeline import SignalContext
from domain.signals import Decision, ReasonCode, Signal

STAGE = "router"


class BrokerRouter:
    name = STAGE

    def __init__(self, routes: Mapping[tuple[str, str], Broker], bot_modes: Mapping[str, str]) -> None:
        self._routes = dict(routes)
        self._bot_modes = dict(bot_modes)

    def broker_for(self, bot: str, venue: str) -> Broker | None:
        return self._routes.get((venue, self.mode_of(bot)))

    def mode_of(self, bot: str) -> str:
        return self._bot_modes.get(bot, "paper")

    @property
    def brokers(self) -> list[Broker]:
        return list(self._routes.values())

    @property
    def routes(self) -> dict[tuple[str, str], Broker]:
        """(venue, mode) -> broker."""
        return dict(self._routes)

    async def evaluate(self, signal: Signal, ctx: SignalContext) -> Decision:
        """Send `ctx.intent`; the venue's answer is left in `ctx.notes['venue_order']`."""
        intent = ctx.intent
        if intent is None:
            raise RuntimeError(f"router reached for {signal.id} without an order intent")
        broker = self.broker_for(intent.bot, intent.instrument.venue)
        mode = self._bot_modes.get(intent.bot, "paper")
        if broker is None:
            return Decision.reject(
                STAGE, ReasonCode.NO_ROUTE, f"no {mode} broker for venue {intent.instrument.venue}"
            )
        try:
            answer: VenueOrder = await broker.submit(intent)
        except BrokerError as exc:
            ctx.notes["broker_error"] = str(exc)
            return Decision.reject(
                STAGE, ReasonCode.BROKER_ERROR, f"{intent.instrument.venue} ({mode}) failed: {exc}"
            )
        ctx.notes["venue_order"] = answer
        if answer.status is OrderStatus.REJECTED:
            return Decision.reject(
                STAGE,
                ReasonCode.VENUE_REJECTED,
                f"{intent.instrument.venue} rejected {intent.client_order_id}: {answer.reason}",
            )
        return Decision.accept(
            STAGE,
            f"{intent.instrument.venue} ({mode}) acknowledged {intent.client_order_id}: "
            f"{answer.status.value}",
            details={"venue_order_id": answer.venue_order_id, "status": answer.status.value},
        )
