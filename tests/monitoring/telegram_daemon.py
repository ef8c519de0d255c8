"""A simulated daemon with Telegram attached, talking real HTTP to a FakeTelegram.

`telegram_daemon(tmp_path, bots, ...)` builds the orchestrator with `build_simulated`
(the simulated clock and scheduler), points `telegram.base_url` at a fresh fake Bot
API, attaches the service as the live wiring does, starts the daemon and waits until
python-telegram-bot polls. Everything runs on the test's event loop, so tests drive
time with `daemon.run.scheduler.run_until(...)` and talk to the bot with
`await daemon.fake.reply_to(OPERATOR, "/pnl", starting="P&L")`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from config.loader import LoadedConfig
from domain.orders import Order, OrderStatus
from domain.signals import Side, SignalIntent
from monitoring.telegram import TelegramService, attach_telegram
from runtime.wiring import SimulatedRun, build_simulated
from storage.reports import Reports
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.runtime.test_orchestrator import START, bot, configured, send_manual

NEW_YORK = ZoneInfo("America/New_York")
OPERATOR = 111  # in settings.telegram.allowed_chat_ids
PARTNER = 222  # in TELEGRAM_ALLOWED_CHAT_IDS (unless a test passes its own environment)
STRANGER = 999
BUYER = bot("buyer", "AlwaysBuyBot", ["BTC/USD", "ETH/USD"], "sim-crypto")


def cents(value: Decimal, *, signed: bool = True) -> str:
    """Money as the replies show it: to the cent, rounded half up, thousands separated."""
    rounded = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{rounded:+,.2f}" if signed else f"{rounded:,.2f}"


__all__ = ["BUYER", "NEW_YORK", "OPERATOR", "PARTNER", "START", "STRANGER", "TOKEN", "Daemon", "bot", "cents"]


@dataclass(slots=True)
class Daemon:
    run: SimulatedRun
    fake: FakeTelegram
    service: TelegramService
    database: Path

    @property
    def reports(self) -> Reports:
        return Reports(self.database)

    def day_start(self) -> datetime:
        day = self.run.clock.now().astimezone(NEW_YORK).date()
        return datetime(day.year, day.month, day.day, tzinfo=NEW_YORK)

    async def advance(self, seconds: float) -> None:
        await self.run.scheduler.run_until(self.run.clock.now() + timedelta(seconds=seconds))

    async def trade(self, bot_name: str, symbol: str, side: Side, intent: SignalIntent, tag: str) -> Order:
        """A hand-made signal for `bot_name` at the current price; it must fill."""
        instrument = self.run.instruments[f"sim-crypto:{symbol}"]
        order = await send_manual(self.run, bot_name, instrument, side, intent, f"{bot_name}-{tag}", 0.03)
        assert order is not None and order.status is OrderStatus.FILLED, order
        return order

    async def fit_regimes(self, *symbols: str) -> None:
        """Fit these markets' regime models now (a hand-made entry elsewhere fits its market first)."""
        regimes = self.run.orchestrator.regimes
        assert regimes is not None
        for symbol in symbols:
            assert (await regimes.refit(self.run.instruments[f"sim-crypto:{symbol}"])).ok

    async def quiet(self) -> None:
        """Let every queued alert leave, so the next message in a chat is a reply."""
        assert await self.service.outbox.drain(10.0), "alerts still queued"


def with_telegram(config: LoadedConfig, **telegram: Any) -> LoadedConfig:
    settings = config.settings
    updated = settings.model_copy(update={"telegram": settings.telegram.model_copy(update=telegram)})
    return LoadedConfig(updated, config.registry, config.settings_path, config.registry_path)


@asynccontextmanager
async def telegram_daemon(
    tmp_path: Path,
    bots: list[dict[str, Any]],
    *,
    start: datetime = START,
    environ: Mapping[str, str] | None = None,
    fake: FakeTelegram | None = None,
    risk: Mapping[str, Any] | None = None,
    **telegram: Any,
) -> AsyncIterator[Daemon]:
    fake = fake or FakeTelegram()
    fake.start()
    options: dict[str, Any] = {
        "base_url": fake.url,
        "allowed_chat_ids": [OPERATOR],
        "messages_per_second": 20.0,  # tests read replies quickly; the rate limit has its own test
        **telegram,
    }
    config = with_telegram(configured(tmp_path, bots, **dict(risk or {})), **options)
    run = build_simulated(config, start)
    env = (
        environ if environ is not None else {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_ALLOWED_CHAT_IDS": "222"}
    )
    service = attach_telegram(
        run.orchestrator, config.settings, env, poll_timeout_seconds=1.0, request_timeout_seconds=2.0
    )
    assert service is not None
    try:
        await run.orchestrator.start()
        assert await service.wait_ready(10.0), f"telegram did not start: {service.state}"
        yield Daemon(run, fake, service, Path(config.settings.system.database))
    finally:
        await run.orchestrator.stop()
        await service.stop(drain_seconds=1.0)
        fake.stop()
