"""Telegram is an operator's convenience, never a dependency of trading: a failing or vanished
Bot API does not slow the road or the bus, a refused token turns Telegram off, no token means
nothing starts at all, the token never reaches a log line, and sends are paced per chat."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from telegram import Bot

from config.loader import ConfigError
from domain.signals import Side, SignalIntent
from monitoring.telegram import attach_telegram
from monitoring.telegram.outbox import Outbox
from runtime.events import Event
from runtime.wiring import build_simulated
from tests.fakes.server import Fault
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.monitoring.telegram_daemon import BUYER, OPERATOR, START, telegram_daemon, with_telegram
from tests.runtime.test_orchestrator import configured


async def eventually(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def test_a_failing_bot_api_never_blocks_the_road_or_the_bus_and_alerts_follow_later(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [], alert_batch_seconds=1.0) as daemon:
            daemon.fake.server.inject(Fault(status=500, path_contains="/sendMessage", times=10**6))
            seen: list[Event] = []
            daemon.run.orchestrator.bus.subscribe(seen.append)
            durations = []
            await daemon.fit_regimes("BTC/USD", "ETH/USD", "SOL/USD")  # outside the timed entries
            for symbol in ("BTC/USD", "ETH/USD", "SOL/USD"):
                began = time.monotonic()
                await daemon.trade("manual", symbol, Side.BUY, SignalIntent.OPEN, symbol)
                durations.append(time.monotonic() - began)
            daemon.run.orchestrator.control.halt_trading("news pending")
            await daemon.advance(5)  # the fills' batch closes and is posted
            outbox = daemon.service.outbox
            await eventually(lambda: outbox.failures >= 2)

            assert max(durations) < 0.5, durations
            kinds = [event.kind for event in seen]
            assert kinds.count("fill") == 3 and "trading_state" in kinds  # the bus kept delivering
            assert daemon.fake.messages_to(OPERATOR) == []

            daemon.fake.server.clear_faults()  # Telegram is back: what waited goes out
            await eventually(
                lambda: "Trades (3 fills)" in "".join(m.visible for m in daemon.fake.messages_to(OPERATOR)),
                within=15.0,
            )
            delivered = "\n".join(m.visible for m in daemon.fake.messages_to(OPERATOR))
            assert "Trading HALTED" in delivered

    asyncio.run(scenario())


def test_a_vanished_bot_api_leaves_the_daemon_trading_and_stopping_on_time(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [BUYER]) as daemon:
            daemon.fake.stop()
            began = time.monotonic()
            await daemon.advance(120)
            ran_for = time.monotonic() - began
            daemon.run.orchestrator.control.halt_trading("news pending")
            service = daemon.service
            await eventually(lambda: service.polling_errors >= 1 and service.outbox.failures >= 1)

            assert ran_for < 5.0, ran_for
            assert daemon.run.orchestrator.repository.fills(), "the buyer stopped trading"
            began = time.monotonic()
            await service.stop(drain_seconds=0.5)
            assert time.monotonic() - began < 10.0
            assert service.state == "stopped"

    asyncio.run(scenario())


def test_without_a_token_nothing_starts_and_telegram_is_never_contacted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="monitoring.telegram")
    fake = FakeTelegram().start()
    try:
        config = with_telegram(configured(tmp_path, [BUYER]), base_url=fake.url, allowed_chat_ids=[OPERATOR])
        run = build_simulated(config, START)
        hooks = list(run.orchestrator.on_shutdown)
        no_token = {"TELEGRAM_ALLOWED_CHAT_IDS": "222"}
        assert attach_telegram(run.orchestrator, config.settings, no_token) is None
        assert run.orchestrator.on_start == [] and run.orchestrator.on_shutdown == hooks

        async def go() -> None:
            await run.orchestrator.start()
            await run.scheduler.run_until(run.clock.now() + timedelta(minutes=1))
            run.orchestrator.control.halt_trading("an alert nobody will send")
            await asyncio.sleep(0.3)
            await run.orchestrator.stop()

        asyncio.run(go())
        assert fake.server.requests == []
        lines = [r.getMessage() for r in caplog.records if r.name == "monitoring.telegram"]
        assert lines == ["telegram: off (no bot token in TELEGRAM_BOT_TOKEN)"]

        disabled = with_telegram(config, enabled=False)
        assert attach_telegram(run.orchestrator, disabled.settings, {"TELEGRAM_BOT_TOKEN": TOKEN}) is None
        assert caplog.records[-1].getMessage() == "telegram: off (telegram.enabled = false)"
        assert fake.server.requests == []
    finally:
        fake.stop()


def test_a_malformed_allow_list_in_the_environment_is_a_configuration_error(tmp_path: Path) -> None:
    config = configured(tmp_path, [])
    run = build_simulated(config, START)
    environ = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_ALLOWED_CHAT_IDS": "111, @operator"}
    with pytest.raises(ConfigError, match=r"TELEGRAM_ALLOWED_CHAT_IDS: '@operator' is not a Telegram chat"):
        attach_telegram(run.orchestrator, config.settings, environ)
    assert run.orchestrator.on_start == []
    run.orchestrator.repository.close()


def test_a_refused_token_turns_telegram_off_and_is_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        fake = FakeTelegram(token="987654321:AAnotTheTokenTheDaemonHas-000000000")
        config = with_telegram(configured(tmp_path, [BUYER]), base_url=fake.start().url, allowed_chat_ids=[1])
        run = build_simulated(config, START)
        service = attach_telegram(run.orchestrator, config.settings, {"TELEGRAM_BOT_TOKEN": TOKEN})
        assert service is not None
        try:
            await run.orchestrator.start()
            await eventually(lambda: service.state == "refused")
            await run.scheduler.run_until(run.clock.now() + timedelta(seconds=30))
            assert run.orchestrator.repository.fills(), "the daemon stopped trading"
            await run.orchestrator.stop()
            await service.stop()
        finally:
            fake.stop()
        assert len(fake.calls("getMe")) == 1  # no retry loop against a refusal

    asyncio.run(scenario())
    assert "refused the token" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN.split(":")[1] not in caplog.text


def test_the_token_never_reaches_a_log_line_even_at_debug_level(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # an operator debugging: httpx logs every URL

    async def scenario() -> None:
        async with telegram_daemon(tmp_path, []) as daemon:
            await daemon.fake.reply_to(OPERATOR, "/help", starting="Commands")
            daemon.run.orchestrator.control.halt_trading("news pending")
            await daemon.quiet()

    asyncio.run(scenario())
    masked = {r.name for r in caplog.records if "/bot***" in r.getMessage()}
    assert {"httpx", "telegram.ext.ExtBot"} <= masked, masked  # the URLs were logged, masked
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


def test_replies_are_paced_at_the_configured_messages_per_second(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [], messages_per_second=2.0) as daemon:
            for _ in range(5):
                daemon.fake.enqueue_message(OPERATOR, "/help")
            replies = await daemon.fake.wait_for_messages(OPERATOR, 5)
            # a burst of two, then one every half second
            assert replies[4].at - replies[0].at >= 1.2

    asyncio.run(scenario())


def test_alerts_piled_up_while_telegram_was_away_go_out_merged_and_the_oldest_give_way() -> None:
    async def scenario() -> None:
        fake = FakeTelegram().start()
        outbox = Outbox([OPERATOR], 20.0, redact=str, max_queued=3)
        for number in range(5):
            outbox.post(f"alert {number} &amp; more")
        assert outbox.dropped == 2 and outbox.pending() == 3
        bot = Bot(TOKEN, base_url=f"{fake.url}/bot")
        try:
            await bot.initialize()
            outbox.start()
            outbox.connect(bot)
            assert await outbox.drain(5.0)
            [message] = fake.messages_to(OPERATOR)
            assert message.visible == "alert 2 & more\n\nalert 3 & more\n\nalert 4 & more"
            assert outbox.sent == 1
        finally:
            await outbox.close()
            await bot.shutdown()
            fake.stop()

    asyncio.run(scenario())
