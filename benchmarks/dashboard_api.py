"""Benchmark: the dashboard's API over real HTTP with a year of trading in the journal.

Fills a journal with 100,000 closed trades from 20 bots over a year, an equity snapshot every
5 minutes of that year (105,120), today's signals and orders, and open positions; then serves it
read-only with waitress (as `run --dashboard-only` does) and times each endpoint from a client:
median and p95 in milliseconds.

The first request after start sums every trade once (the dashboard's ledger; a running daemon
does it in the background as the dashboard starts); later requests read only what is new.

    .venv/bin/python benchmarks/dashboard_api.py [--trades 100000] [--requests 30]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.loader import load_config  # noqa: E402
from dashboard.app import create_app  # noqa: E402
from dashboard.context import Dashboard  # noqa: E402
from dashboard.server import DashboardServer  # noqa: E402
from domain.instruments import AssetClass, Instrument  # noqa: E402
from domain.orders import Order, OrderIntent, OrderType, TimeInForce, client_order_id_for  # noqa: E402
from domain.positions import ClosedTrade, Position  # noqa: E402
from domain.signals import Decision, Side, Signal, SignalIntent, make_signal_id  # noqa: E402
from storage.database import open_storage  # noqa: E402
from storage.reports import Reports  # noqa: E402
from storage.repository import Repository  # noqa: E402
from utils.clock import SimulatedClock  # noqa: E402

END = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # 15:00 in New York, a year after the first trade
INSTRUMENTS = [
    Instrument("SPY", "sim-stocks", AssetClass.STOCK, Decimal("0.01"), Decimal(1), "SPY"),
    Instrument("QQQ", "sim-stocks", AssetClass.STOCK, Decimal("0.01"), Decimal(1), "QQQ"),
    Instrument("XLE", "sim-stocks", AssetClass.STOCK, Decimal("0.01"), Decimal(1), "XLE"),
    Instrument("BTC/USD", "sim-crypto", AssetClass.CRYPTO, Decimal("0.01"), Decimal("0.0001"), "BTC"),
    Instrument("ETH/USD", "sim-crypto", AssetClass.CRYPTO, Decimal("0.01"), Decimal("0.0001"), "ETH"),
    Instrument("EUR_USD", "sim-fx", AssetClass.FOREX, Decimal("0.00001"), Decimal(1), "EURUSD"),
]


def fill(repo: Repository, trades: int, bots: int, rng: random.Random) -> None:
    start = END - timedelta(days=365)
    names = [f"bot-{n:02d}" for n in range(bots)]
    for n, name in enumerate(names):
        instrument = INSTRUMENTS[n % len(INSTRUMENTS)]
        repo.upsert_bot(
            name, "rsi2", instrument.asset_class.value, instrument.venue, "paper", "every 60 s", {}, start
        )
    with repo.batch():
        spacing = (END - start) / trades
        for n in range(trades):
            closed = start + spacing * n
            instrument = INSTRUMENTS[n % len(INSTRUMENTS)]
            gross = Decimal(str(round(rng.gauss(0.4, 12.0), 2)))
            repo.record_closed_trade(
                ClosedTrade(
                    bot=names[n % bots],
                    instrument_key=instrument.key,
                    side=Side.BUY,
                    quantity=Decimal(10),
                    entry_price=Decimal(100),
                    exit_price=Decimal(100) + gross / 10,
                    gross_pnl=gross,
                    fees=Decimal("0.35"),
                    opened_at=closed - timedelta(minutes=40),
                    closed_at=closed,
                )
            )
        equity = Decimal(100_000)
        moment = start
        while moment <= END:
            equity += Decimal(str(round(rng.gauss(0.5, 25.0), 2)))
            repo.record_equity(moment, equity, equity, Decimal(0), Decimal(0), Decimal(0), 3, Decimal(25_000))
            moment += timedelta(minutes=5)
        # today's road: a signal per bot every 10 minutes since midnight, an order for a third of them
        midnight = END.replace(hour=5)
        for n in range(600):
            name, instrument = names[n % bots], INSTRUMENTS[n % len(INSTRUMENTS)]
            at = midnight + timedelta(minutes=n)
            signal = Signal(
                make_signal_id(name, instrument.key, at, 0), name, instrument, Side.BUY, SignalIntent.OPEN,
                0.6, 0.01, 95.0, "benchmark", at,
            )  # fmt: skip
            repo.record_signal(signal)
            repo.record_decision(signal.id, 0, Decision.accept("regime", "bull"), at)
            if n % 3 == 0:
                repo.record_decision(signal.id, 1, Decision.accept("risk", "10 shares"), at)
                intent = OrderIntent(
                    client_order_id_for(signal.id), signal.id, name, instrument, Side.BUY, Decimal(10),
                    OrderType.MARKET, TimeInForce.IOC, at,
                )  # fmt: skip
                repo.insert_order(Order(intent))
        for n, name in enumerate(names[:5]):
            instrument = INSTRUMENTS[n]
            repo.save_position(Position(name, instrument.key, Decimal(5), Decimal(100), opened_at=END))


def timed(client: httpx.Client, path: str, count: int) -> tuple[float, float, int]:
    client.get(path).raise_for_status()  # warm
    samples = []
    size = 0
    for _ in range(count):
        began = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
        size = len(response.content)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))], size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--bots", type=int, default=20)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "year.sqlite"
        began = time.perf_counter()
        repo = open_storage(database)
        fill(repo, args.trades, args.bots, random.Random(5))
        repo.close()
        megabytes = database.stat().st_size / 1e6
        took = time.perf_counter() - began
        print(
            f"journal: {args.trades:,} closed trades, a year of snapshots, {megabytes:.0f} MB ({took:.0f} s)"
        )

        settings = load_config().settings
        dashboard = Dashboard(settings, Reports(database), SimulatedClock(END))
        server = DashboardServer(create_app(dashboard), "127.0.0.1", 0)
        server.start()
        endpoints = [
            "/api/overview",
            "/api/bots",
            "/api/positions",
            "/api/trades?page=1&per_page=50",
            "/api/trades?page=1000&per_page=50",
            "/api/trades?bot=bot-07&from=2025-09-01&to=2025-09-30",
            "/api/signals?limit=50",
            "/api/analytics",
            "/api/risk",
        ]
        print(f"\n{'endpoint':<56}{'median ms':>10}{'p95 ms':>10}{'bytes':>10}")
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                began = time.perf_counter()
                client.get("/api/overview").raise_for_status()
                cold = (time.perf_counter() - began) * 1000
                print(f"{'first /api/overview (sums every trade once)':<56}{cold:>10.1f}")
                for path in endpoints:
                    count = max(5, args.requests // 3) if path == "/api/analytics" else args.requests
                    median, p95, length = timed(client, path, count)
                    print(f"{path:<56}{median:>10.1f}{p95:>10.1f}{length:>10,}")
                began = time.perf_counter()
                exported = client.get("/api/trades.csv")
                exported.raise_for_status()
                rows = exported.text.count("\n") - 1
                took = (time.perf_counter() - began) * 1000
                label = f"/api/trades.csv ({rows:,} rows, one request)"
                print(f"{label:<56}{took:>10.1f}{'':>10}{len(exported.content):>10,}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
