"""Benchmark: how fast the road is, and how the scheduler copes with 500 bots.

Prints three tables:
1. signal-to-acknowledgement latency (creation of a signal to the venue's answer, with the
   regime filter, the risk engine, the journal on a real SQLite file and the paper broker)
   over N signals: p50, p99, max;
2. tick lateness (actual start minus scheduled fire time) and CPU use with 500 idle-ish bots
   on 10-second intervals, on the simulated clock and on the wall clock.

Targets (issue #2): p99 signal-to-ack < 5 ms; p99 lateness < 100 ms; < 0.5 core for 500 bots.

    .venv/bin/python benchmarks/pipeline_latency.py [--signals 10000] [--wall-seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bots.base import Bot, BotContext  # noqa: E402
from config.loader import LoadedConfig, load_config  # noqa: E402
from config.schema import BotEntry, Registry  # noqa: E402
from domain.signals import Side, Signal, SignalIntent, make_signal_id  # noqa: E402
from runtime.scheduling import LiveScheduler  # noqa: E402
from runtime.wiring import build_simulated, with_paths  # noqa: E402
from utils.clock import WallClock  # noqa: E402

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def relaxed(config: LoadedConfig, base: Path) -> LoadedConfig:
    """Limits that let every benchmark signal through to the venue."""
    risk = config.settings.risk.model_copy(
        update={
            "reentry_cooldown_minutes": 0.0,
            "daily_loss_limit_usd": 1e9,
            "max_concurrent_positions": 10_000,
        }
    )
    settings = config.settings.model_copy(update={"risk": risk})
    config = LoadedConfig(settings, config.registry, config.settings_path, config.registry_path)
    return with_paths(config, database=base / "bench.sqlite", var_dir=base / "var")


async def signal_latency(count: int, base: Path) -> list[float]:
    run = build_simulated(relaxed(load_config(), base), START)
    orchestrator = run.orchestrator
    await orchestrator.start()
    instrument = run.instruments["sim-crypto:BTC/USD"]
    latencies: list[float] = []
    bot = "rsi2-btc"
    for n in range(count):
        run.clock.advance(0.5)
        now = run.clock.now()
        holding = orchestrator.book.position(bot, instrument.key)
        quote = await run.market.quote(instrument)
        assert quote is not None
        price = float(quote.mid)
        started = time.perf_counter()
        if holding is None:
            signal = Signal(
                id=make_signal_id(bot, instrument.key, now, n),
                bot=bot,
                instrument=instrument,
                side=Side.BUY,
                intent=SignalIntent.OPEN,
                confidence=0.6,
                edge=0.01,
                stop=price * 0.98,
                reason="benchmark",
                time=now,
                evidence={"atr": price * 0.01},
            )
        else:
            signal = Signal(
                id=make_signal_id(bot, instrument.key, now, n),
                bot=bot,
                instrument=instrument,
                side=Side.SELL,
                intent=SignalIntent.CLOSE,
                confidence=0.6,
                edge=0.0,
                stop=None,
                reason="benchmark",
                time=now,
            )
        order = await orchestrator.process_signal(signal)
        elapsed = time.perf_counter() - started
        if order is not None:
            latencies.append(elapsed * 1000)
    await orchestrator.stop()
    return latencies


class IdleBot(Bot):
    """Reads its bars and quote like a real bot, then decides not to trade."""

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        for instrument in self.instruments:
            await ctx.bars(instrument, 60, 50)
        return []


def many_bots_config(base: Path, count: int) -> LoadedConfig:
    config = load_config()
    entries = [
        BotEntry.model_validate(
            {
                "name": f"idle-{i:03d}",
                "class": "benchmarks.pipeline_latency:IdleBot",
                "instruments": [["SPY", "QQQ", "XLE"][i % 3]],
                "venue": "sim-stocks",
                "schedule": {"interval_seconds": 10},
            }
        )
        for i in range(count)
    ]
    config = LoadedConfig(config.settings, Registry(bots=entries), config.settings_path, config.registry_path)
    config = relaxed(config, base)
    Path(config.settings.system.var_dir).mkdir(parents=True, exist_ok=True)
    return config


async def scheduler_simulated(base: Path, bots: int, hours: float) -> tuple[list[float], float, float]:
    run = build_simulated(many_bots_config(base, bots), START)
    lateness: list[float] = []
    await run.orchestrator.start()
    process = psutil.Process()
    cpu_before = process.cpu_times()
    wall_before = time.perf_counter()
    await run.scheduler.run_until(START + timedelta(hours=hours))
    wall = time.perf_counter() - wall_before
    cpu_after = process.cpu_times()
    lateness = [s * 1000 for s in run.scheduler.lateness_seconds]
    await run.orchestrator.stop()
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    return lateness, wall, cpu


async def scheduler_wall(base: Path, bots: int, seconds: float) -> tuple[list[float], float]:
    """The whole daemon (registry, orchestrator, jobs, journal) with 500 idle-ish bots on the
    wall clock and APScheduler: how late ticks start and how much CPU the process burns."""
    from runtime.venues import simulated_venues
    from runtime.wiring import build_market, build_orchestrator
    from utils.offload import ProcessOffloader

    config = many_bots_config(base, bots)
    settings = config.settings
    clock = WallClock()
    scheduler = LiveScheduler(settings.system.timezone, clock=clock)
    market = build_market(settings, clock)
    venues = simulated_venues(settings, market, clock)
    orchestrator = build_orchestrator(config, clock, scheduler, market, venues, ProcessOffloader())
    await orchestrator.start()
    await asyncio.sleep(10)  # let the staggered first round settle before measuring
    scheduler.lateness_seconds.clear()
    process = psutil.Process()
    before = process.cpu_times()
    await asyncio.sleep(seconds)
    after = process.cpu_times()
    lateness = [s * 1000 for s in scheduler.lateness_seconds]
    await orchestrator.stop()
    cpu = (after.user - before.user) + (after.system - before.system)
    return lateness, cpu / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=10_000)
    parser.add_argument("--bots", type=int, default=500)
    parser.add_argument("--wall-seconds", type=float, default=60.0)
    parser.add_argument("--sim-hours", type=float, default=1.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        latencies = asyncio.run(signal_latency(args.signals, Path(tmp) / "latency"))
        print(
            f"signal -> acknowledgement over {len(latencies)} orders "
            "(regime + risk + journal + paper broker):"
        )
        print(
            f"  p50 {percentile(latencies, 50):.3f} ms   p99 {percentile(latencies, 99):.3f} ms   "
            f"max {max(latencies):.3f} ms   mean {statistics.fmean(latencies):.3f} ms   (target p99 < 5 ms)"
        )

        lateness, wall, cpu = asyncio.run(scheduler_simulated(Path(tmp) / "sim", args.bots, args.sim_hours))
        ticks = len(lateness)
        print(f"\n{args.bots} bots every 10 s on the simulated clock, {args.sim_hours} simulated hour(s):")
        print(
            f"  {ticks} ticks in {wall:.1f} s wall ({ticks / wall:.0f} ticks/s, {cpu:.1f} CPU s); lateness "
            f"p50 {percentile(lateness, 50):.3f} ms p99 {percentile(lateness, 99):.3f} ms (by construction 0)"
        )

    with tempfile.TemporaryDirectory() as tmp:
        lateness, cores = asyncio.run(scheduler_wall(Path(tmp) / "wall", args.bots, args.wall_seconds))
    print(
        f"\n{args.bots} bots every 10 s on the wall clock for {args.wall_seconds:.0f} s "
        f"({len(lateness)} ticks):"
    )
    print(
        f"  lateness p50 {percentile(lateness, 50):.2f} ms   p99 {percentile(lateness, 99):.2f} ms   "
        f"max {max(lateness):.2f} ms   (target p99 < 100 ms)"
    )
    print(f"  CPU {cores:.3f} cores   (target < 0.5)")


if __name__ == "__main__":
    main()
