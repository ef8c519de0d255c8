"""The daemon's side of veto analytics: record each vetoed entry as a shadow trade and mark
the open ones on a schedule (the arithmetic is in `ai.veto_followup`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta

from ai.veto_followup import FOLLOWED_STAGES, advance, open_shadow
from domain.instruments import Instrument
from domain.market import Quote
from domain.signals import Decision, Signal, SignalIntent
from storage.repository import Repository

log = logging.getLogger(__name__)

QuoteProvider = Callable[[Instrument], Awaitable[Quote | None]]  # None: no fresh, valid quote


class VetoFollowUp:
    def __init__(
        self,
        repository: Repository,
        quote: QuoteProvider,
        instruments: Mapping[str, Instrument],
        horizons_minutes: Sequence[int],
        grace: timedelta,
    ) -> None:
        self._repository = repository
        self._quote = quote
        self._instruments = instruments
        self._horizons = tuple(horizons_minutes)
        self._grace = grace

    def follows(self, signal: Signal, decision: Decision) -> bool:
        """Whether `decision` is a veto of an entry (the rejections this follows)."""
        return (
            signal.intent is not SignalIntent.CLOSE
            and not decision.passed
            and decision.stage in FOLLOWED_STAGES
        )

    async def record(self, signal: Signal, decision: Decision, now: datetime) -> None:
        quote = await self._quote(signal.instrument)
        shadow = open_shadow(signal, decision, quote, self._horizons)
        self._repository.record_shadow_trade(shadow, now)
        if shadow.entry_price is None:
            log.info("vetoed %s: no fresh quote, counted but not followed", signal.id)

    async def follow(self, now: datetime) -> int:
        """Mark every shadow trade still being followed; returns how many changed."""
        changed = []
        for shadow in self._repository.shadow_trades(status="following"):
            instrument = self._instruments.get(shadow.instrument_key)
            quote = None if instrument is None else await self._quote(instrument)
            updated = advance(shadow, quote, now, self._grace)
            if updated is not None:
                changed.append(updated)
        if changed:
            with self._repository.batch():
                for shadow in changed:
                    self._repository.update_shadow_trade(shadow, now)
        return len(changed)
