"""Measurement: the default event-trading bots in the whole daemon over days of the simulated world.

Runs the default configuration's prediction bots (`weather-edges`, `cpi-edges` on `sim-kalshi`)
through the real daemon on the simulated clock (consensus and gates, veto, risk engine, paper
venue, settlement) and prints the dashboard's edge-detection table at the end: per domain the
consensus's Brier score on the markets where it signalled an edge against the crowd's, the hit
rate, trades and P&L; per source its Brier score over every market it priced. Housekeeping jobs
run less often than live (fills every 30 s) so a day takes about half a minute.

    .venv/bin/python benchmarks/prediction_daemon.py [--days 10] [--start 2026-11-24T16:00:00+00:00]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bots.event_trading.scorecard import edge_scorecard  # noqa: E402
from config.loader import LoadedConfig, load_config  # noqa: E402
from config.schema import Registry  # noqa: E402
from runtime.wiring import build_simulated, with_coarse_housekeeping, with_paths  # noqa: E402


def config_in(root: Path) -> LoadedConfig:
    base = with_coarse_housekeeping(load_config())
    settings = base.settings
    settings = settings.model_copy(
        update={"prediction": settings.prediction.model_copy(update={"simulated_days": 60})}
    )
    bots = [bot for bot in base.registry.bots if settings.venues[bot.venue].asset_class == "prediction"]
    config = LoadedConfig(settings, Registry(bots=bots), base.settings_path, base.registry_path)
    return with_paths(config, database=root / "trading.sqlite", var_dir=root / "var")


async def replay(config: LoadedConfig, start: datetime, days: int) -> None:
    run = build_simulated(config, start)
    began = time.perf_counter()
    await run.orchestrator.start()
    for day in range(1, days + 1):
        await run.scheduler.run_until(start + timedelta(days=day))
        repo = run.orchestrator.repository
        edges = repo.edges()
        settled = sum(e.settled for e in edges)
        print(
            f"day {day}/{days}: {len(edges)} edges signalled, {settled} settled, "
            f"{time.perf_counter() - began:.0f} s",
            flush=True,
        )
    repo = run.orchestrator.repository
    rows = edge_scorecard(repo.edges(), repo.calibrations())
    trades = repo.closed_trades()
    await run.orchestrator.stop()
    print()
    print(
        f"{'domain':<10} {'source':<20} {'signals':>7} {'settled':>7} {'hit rate':>8} {'Brier':>7} "
        f"{'crowd':>7} {'priced':>6} {'trades':>6} {'P&L':>9}"
    )

    def fmt(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    for row in rows:
        print(
            f"{row.domain:<10} {row.source or '(consensus)':<20} {row.signals:>7} {row.settled:>7} "
            f"{fmt(row.hit_rate, '.1%'):>8} {fmt(row.brier, '.4f'):>7} {fmt(row.crowd_brier, '.4f'):>7} "
            f"{fmt(row.priced, 'd'):>6} {row.trades:>6} {row.pnl:>9.2f}"
        )
    net = sum((t.net_pnl for t in trades), start=0)
    print(f"\n{len(trades)} round trips closed, net P&L {net:.2f} USD")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument(
        "--start", type=datetime.fromisoformat, default=datetime.fromisoformat("2026-11-24T16:00:00+00:00")
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(replay(config_in(Path(folder)), args.start, args.days))


if __name__ == "__main__":
    main()
