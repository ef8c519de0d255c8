"""The fleet page's figures: each sub-bot's latest Thompson allocation and posterior, and how the
allocation moved over time (from the journal's `fleet_allocations`, so the same read-only)."""

from __future__ import annotations

from typing import Any

from dashboard.context import Dashboard, iso
from storage.records import FleetWeight

HISTORY_ROUNDS = 200  # points on the allocation-over-time chart


def latest_weights(rounds: list[FleetWeight]) -> dict[str, FleetWeight]:
    """Each sub-bot's row in the newest round it appears in."""
    latest: dict[str, FleetWeight] = {}
    for row in rounds:
        latest[row.bot] = row  # rounds come oldest first
    return latest


def fleet(dashboard: Dashboard) -> dict[str, Any]:
    settings = dashboard.settings.fleet
    rounds = dashboard.reports.fleet_rounds(HISTORY_ROUNDS)
    latest = latest_weights(rounds)
    times = sorted({row.time for row in rounds})
    index = {time: i for i, time in enumerate(times)}
    history: dict[str, list[float | None]] = {bot: [None] * len(times) for bot in sorted(latest)}
    for row in rounds:
        history[row.bot][index[row.time]] = round(row.weight, 4)
    bots = [
        {
            "bot": row.bot,
            "weight": row.weight,
            "size_multiplier": row.size_multiplier,
            "trades": row.trades,
            "posterior_mean": row.posterior_mean,
            "posterior_scale": row.posterior_sd,
            "at": iso(row.time),
        }
        for row in sorted(latest.values(), key=lambda r: (-r.weight, r.bot))
    ]
    return {
        "settings": {
            "enabled": settings.enabled,
            "allocation_minutes": settings.allocation_minutes,
            "discount": settings.discount,
            "floor": settings.floor,
            "cap": settings.cap,
            "max_size_multiplier": settings.max_size_multiplier,
        },
        "as_of": iso(times[-1]) if times else None,
        "rounds": len(times),
        "bots": bots,
        "history": {"times": [iso(t) for t in times], "weights": history},
    }
