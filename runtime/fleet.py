"""The fleet's meta-controller in the daemon: learn from the sub-bots' trades, allocate, journal.

Registry bots with `fleet = true` are the fleet's sub-bots. Each closed trade of one teaches its
posterior (`bots.fleet.allocation`) the trade's return in R: net P&L over the risk taken at entry
(the exit plan's R, or for a position without one, such as a prediction contract, the most it
could lose). Every `allocation_minutes` the Thompson-sampling weights are drawn, journaled (one
row per sub-bot in `fleet_allocations`) and turned into size multipliers the risk engine applies:
weight x sub-bots, so an equal share trades at x1, capped at `max_size_multiplier`.

The allocator's state is kept in the journal after every trade it learns from, so a restart goes
on from the same posteriors; trades closed before a bot joined the fleet do not count.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal

import numpy as np

from bots.fleet.allocation import (
    AllocationSettings,
    FleetAllocator,
    NormalGammaPosterior,
    RegimeFleetAllocator,
)
from config.schema import FleetSettings
from domain.positions import ClosedTrade
from runtime.events import Event, EventBus
from storage.records import FleetWeight
from storage.repository import Repository
from utils.clock import Clock

log = logging.getLogger(__name__)

STATE_KEY = "fleet_allocator"  # daemon value: the allocator's posteriors and trade counts (JSON)
NO_REGIME = "none"  # the regime key of a market without a regime model (prediction contracts)


def effective_bounds(settings: FleetSettings, members: int) -> tuple[float, float]:
    """The floor and cap a fleet of `members` can honour: floor <= 1/n <= cap."""
    if members < 1:
        raise ValueError("a fleet needs at least one sub-bot")
    share = 1.0 / members
    return min(settings.floor, share), max(settings.cap, share)


def mean_scale(posterior: NormalGammaPosterior) -> float:
    """The Student-t scale of the posterior's mean: sqrt(beta / (alpha kappa))."""
    return math.sqrt(posterior.beta / (posterior.alpha * posterior.kappa))


class FleetController:
    """Learns from the sub-bots' closed trades and allocates among them (see the module docstring).

    With `controller = "regime"` each sub-bot keeps one posterior per market regime (a trade teaches
    the regime its market was in when it closed) and is judged, at each round, on its record in the
    regime its market is in now; a market without a regime model counts as the regime "none".
    """

    def __init__(
        self,
        settings: FleetSettings,
        members: Sequence[str],
        repository: Repository,
        clock: Clock,
        bus: EventBus,
    ) -> None:
        if not members:
            raise ValueError("a fleet needs at least one sub-bot")
        self.settings = settings
        self.members = tuple(sorted(set(members)))
        self._repository = repository
        self._clock = clock
        self._bus = bus
        floor, cap = effective_bounds(settings, len(self.members))
        allocation = AllocationSettings(
            discount=settings.discount, floor=floor, cap=cap, draws=settings.draws
        )
        self.allocator, self.regime_allocator, self.trades = self._restored(allocation)
        for name in self.members:
            self.allocator.join(name)
            self.regime_allocator.join(name)
            self.trades.setdefault(name, 0)
        self._rounds = 0
        self.multipliers: dict[str, float] = {}  # none until the first allocation: every sub-bot at x1

    @property
    def by_regime(self) -> bool:
        return self.settings.controller == "regime"

    def _restored(
        self, allocation: AllocationSettings
    ) -> tuple[FleetAllocator, RegimeFleetAllocator, dict[str, int]]:
        fresh: tuple[FleetAllocator, RegimeFleetAllocator, dict[str, int]] = (
            FleetAllocator(allocation),
            RegimeFleetAllocator(allocation, self.members),
            {},
        )
        text = self._repository.get_daemon_value(STATE_KEY)
        if text is None:
            return fresh
        try:
            state = json.loads(text)
            saved = FleetAllocator.from_dict(state["allocator"])
            kept = {name: saved.posterior(name) for name in saved.names if name in self.members}
            trades = {name: int(count) for name, count in state["trades"].items() if name in self.members}
            by_regime = RegimeFleetAllocator.from_dict(state["by_regime"]) if "by_regime" in state else None
        except (ValueError, KeyError, TypeError) as exc:
            log.error(
                "the journaled fleet state is unreadable (%s); the fleet starts again from its prior", exc
            )
            return fresh
        regime_kept: dict[str, dict[str, NormalGammaPosterior]] = {}
        if by_regime is not None:
            for regime in by_regime.regimes:
                regime_kept[regime] = {
                    n: by_regime.posterior(n, regime) for n in by_regime.names if n in self.members
                }
        # today's settings (discount, bounds) with yesterday's evidence
        return (
            FleetAllocator(allocation, kept),
            RegimeFleetAllocator(allocation, self.members, regime_kept),
            trades,
        )

    def is_member(self, bot: str) -> bool:
        return bot in self.members

    def record(self, trade: ClosedTrade, risk: Decimal, regime: str | None = None) -> None:
        """Learn from one of a sub-bot's closed trades: its net P&L in R (both controllers learn, so
        switching between them keeps the evidence)."""
        if trade.bot not in self.members:
            return
        if not risk > 0:
            log.warning(
                "fleet: %s's trade in %s risked %s; not learnt from", trade.bot, trade.instrument_key, risk
            )
            return
        r_multiple = float(trade.net_pnl / risk)
        self.allocator.record(trade.bot, r_multiple)
        self.regime_allocator.record(trade.bot, regime or NO_REGIME, r_multiple)
        self.trades[trade.bot] = self.trades.get(trade.bot, 0) + 1
        state = {
            "allocator": self.allocator.to_dict(),
            "by_regime": self.regime_allocator.to_dict(),
            "trades": self.trades,
        }
        self._repository.set_daemon_value(STATE_KEY, json.dumps(state))

    def allocate(self, regimes: Mapping[str, str | None] | None = None) -> list[FleetWeight]:
        """Draw the weights, set the multipliers, journal the round and announce it. `regimes` (sub-bot
        -> its market's regime now) is what the regime controller judges each sub-bot in."""
        now = self._clock.now()
        # a stream per round, so a restart does not replay the first round's draws
        rng = np.random.default_rng([self.settings.seed, int(now.timestamp()), self._rounds])
        self._rounds += 1
        current = {name: (regimes or {}).get(name) or NO_REGIME for name in self.members}
        if self.by_regime:
            weights = self.regime_allocator.allocate_each(rng, current)
        else:
            weights = self.allocator.allocate(rng)
        count = len(self.members)
        rows = []
        for name in self.members:
            weight = weights[name]
            multiplier = min(weight * count, self.settings.max_size_multiplier)
            self.multipliers[name] = multiplier
            posterior = (
                self.regime_allocator.posterior(name, current[name])
                if self.by_regime
                else self.allocator.posterior(name)
            )
            rows.append(
                FleetWeight(
                    now,
                    name,
                    weight,
                    multiplier,
                    self.trades.get(name, 0),
                    posterior.mu,
                    mean_scale(posterior),
                )
            )
        self._repository.record_fleet_allocation(rows)
        leader = max(rows, key=lambda row: row.weight)
        self._bus.publish(
            Event(
                "fleet_allocation",
                now,
                f"fleet allocation: {leader.bot} leads with {leader.weight:.0%} "
                f"(x{leader.size_multiplier:.2f})",
                {"weights": {row.bot: round(row.weight, 4) for row in rows}},
            )
        )
        return rows
