"""Bot consensus: what the other bots have recently said about the same underlying.

The source remembers every entry signal it is shown (after voting on it, so a signal
never votes for itself) and, for a new one, counts the other bots' latest entries on
the same underlying within `window`: vote = (buys - sells) / (buys + sells), one voice
per bot (its latest), confidence = min(1, voices / `full_confidence_voices`). Abstains
when no other bot has spoken there within the window.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ai.votes import Abstention, SourceResult, Vote
from domain.signals import Side, Signal, SignalIntent


@dataclass(slots=True)
class BotConsensusSource:
    window: timedelta = timedelta(minutes=15)
    full_confidence_voices: int = 3
    name: str = "bot_consensus"
    _recent: deque[tuple[datetime, str, str, Side]] = field(
        default_factory=deque
    )  # time, underlying, bot, side

    async def vote(self, signal: Signal, hub: object) -> SourceResult:
        now: datetime = getattr(hub, "now", signal.time)
        while self._recent and now - self._recent[0][0] > self.window:
            self._recent.popleft()
        underlying = signal.instrument.underlying
        latest: dict[str, tuple[datetime, Side]] = {}
        for time, where, bot, side in self._recent:
            if where == underlying and bot != signal.bot and (bot not in latest or time >= latest[bot][0]):
                latest[bot] = (time, side)
        if signal.intent is SignalIntent.OPEN:
            self._recent.append((now, underlying, signal.bot, signal.side))
        if not latest:
            minutes = self.window.total_seconds() / 60
            return Abstention(
                self.name, f"no other bot signalled {underlying} in the last {minutes:g} minutes"
            )
        buys = sum(1 for _, side in latest.values() if side is Side.BUY)
        sells = len(latest) - buys
        return Vote(
            self.name,
            (buys - sells) / (buys + sells),
            min(1.0, len(latest) / self.full_confidence_voices),
            {"buys": buys, "sells": sells, "bots": sorted(latest)},
            max(time for time, _ in latest.values()),
        )
