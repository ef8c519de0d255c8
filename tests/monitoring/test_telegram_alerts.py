"""What the daemon tells every allowed chat unasked: fills batched over a window of the
orchestrator's clock, halts and risk events at once, and a summary at the configured local time."""

from __future__ import annotations

import asyncio
import re
import threading
from datetime import datetime, timedelta
from pathlib import Path

from domain.signals import Side, SignalIntent
from runtime.events import Event
from tests.monitoring.telegram_daemon import NEW_YORK, OPERATOR, PARTNER, Daemon, bot, cents, telegram_daemon


def alerts(daemon: Daemon, chat: int, starting: str) -> list[str]:
    """The alerts the chat got whose text (past its leading emoji) starts with `starting`. Alerts
    queued together arrive as one message, separated by a blank line."""
    texts = [text for m in daemon.fake.messages_to(chat) for text in m.visible.split("\n\n")]
    return [text for text in texts if re.sub(r"^\W+", "", text).startswith(starting)]


async def settle(daemon: Daemon) -> None:
    """Give the outbox its moment: what was posted is at the fake afterwards."""
    await asyncio.sleep(0.1)
    await daemon.quiet()


def test_fills_within_the_batch_window_go_out_as_one_message_to_every_allowed_chat(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [], alert_batch_seconds=30.0) as daemon:
            clock = daemon.run.clock
            opened = clock.now()
            await daemon.trade("manual", "BTC/USD", Side.BUY, SignalIntent.OPEN, "btc")
            clock.advance(10)
            await daemon.trade("manual", "ETH/USD", Side.BUY, SignalIntent.OPEN, "eth")
            clock.advance(10)
            await daemon.trade("manual", "SOL/USD", Side.BUY, SignalIntent.OPEN, "sol")
            await settle(daemon)
            assert alerts(daemon, OPERATOR, "Trades") == []  # the window is still open

            await daemon.run.scheduler.run_until(opened + timedelta(seconds=31))
            await settle(daemon)
            for chat in (OPERATOR, PARTNER):
                [first] = alerts(daemon, chat, "Trades")
                assert first.startswith("Trades (3 fills)")
                for symbol in ("BTC/USD", "ETH/USD", "SOL/USD"):
                    assert f"BUY {symbol} " in first
                assert first.count("manual entry") == 3

            clock.advance(14)  # 45 s after the first fill: a new window
            await daemon.trade("manual", "BTC/USD", Side.SELL, SignalIntent.CLOSE, "btc-out")
            await daemon.run.scheduler.run_until(clock.now() + timedelta(seconds=31))
            await settle(daemon)
            for chat in (OPERATOR, PARTNER):
                first, second = alerts(daemon, chat, "Trades")
                assert len([m for m in daemon.fake.messages_to(chat) if "Trades (" in m.visible]) == 2
                assert second.startswith("Trades (1 fill, 1 closed)")
                [trade] = daemon.run.orchestrator.repository.closed_trades()
                assert "SELL BTC/USD" in second and "manual exit, flat" in second
                assert f"= BTC/USD net {cents(trade.net_pnl)}" in second

    asyncio.run(scenario())


def test_a_daily_loss_halt_is_announced_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        risk = {"daily_loss_limit_usd": 0.01}
        async with telegram_daemon(tmp_path, [], risk=risk, alert_batch_seconds=600.0) as daemon:
            # buying at the ask and selling at the bid loses the spread: more than the $0.01 limit
            await daemon.trade("manual", "BTC/USD", Side.BUY, SignalIntent.OPEN, "in")
            daemon.run.clock.advance(2)
            await daemon.trade("manual", "BTC/USD", Side.SELL, SignalIntent.CLOSE, "out")
            await settle(daemon)

            text = "\n".join(m.visible for m in daemon.fake.messages_to(OPERATOR))
            assert "Trading REDUCING: exits only" in text
            assert "Risk: daily_loss_halt (critical)" in text and "daily loss limit" in text
            assert alerts(daemon, OPERATOR, "Trades") == []  # the fills wait for their batch

    asyncio.run(scenario())


def test_an_auto_paused_bot_and_its_errors_are_announced(tmp_path: Path) -> None:
    broken = bot("broken", "FailingBot", ["SPY"], "sim-stocks")

    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [broken], alert_batch_seconds=5.0) as daemon:
            await daemon.advance(70)
            await settle(daemon)
            [paused] = alerts(daemon, OPERATOR, "broken paused")
            assert "auto-paused after 5 consecutive failures" in paused
            errors = alerts(daemon, OPERATOR, "Bot errors")
            assert errors and "broken: RuntimeError: strategy bug" in errors[0]

    asyncio.run(scenario())


def test_an_event_published_from_another_thread_is_handled_on_the_loop_and_announced(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, []) as daemon:
            event = Event(
                "broker_health",
                daemon.run.clock.now(),
                "sim-crypto (paper) DOWN: connection refused",
                {"venue": "sim-crypto", "mode": "paper", "healthy": False},
            )
            worker = threading.Thread(target=daemon.run.orchestrator.bus.publish, args=(event,))
            worker.start()
            worker.join()
            # handed to the daemon's loop, not handled on the foreign thread: nothing queued yet
            assert daemon.service.outbox.pending() == 0
            [down] = await daemon.fake.wait_for_messages(OPERATOR, 1)
            assert down.visible.startswith("🔌 sim-crypto (paper) DOWN")
            assert "connection refused" in down.visible

    asyncio.run(scenario())


def test_the_daily_summary_goes_out_at_the_configured_local_time(tmp_path: Path) -> None:
    start = datetime(2026, 3, 2, 16, 58, tzinfo=NEW_YORK)

    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [], start=start, daily_summary_time="17:00") as daemon:
            await daemon.trade("manual", "ETH/USD", Side.BUY, SignalIntent.OPEN, "in")
            daemon.run.clock.advance(5)
            await daemon.trade("manual", "ETH/USD", Side.SELL, SignalIntent.CLOSE, "out")
            await daemon.run.scheduler.run_until(datetime(2026, 3, 2, 16, 59, 59, tzinfo=NEW_YORK))
            await settle(daemon)
            assert alerts(daemon, OPERATOR, "Daily summary") == []

            await daemon.run.scheduler.run_until(datetime(2026, 3, 2, 17, 3, tzinfo=NEW_YORK))
            await settle(daemon)
            [summary] = alerts(daemon, OPERATOR, "Daily summary")
            assert "Mon 2026-03-02" in summary
            figures = daemon.reports.pnl_summary(datetime(2026, 3, 2, tzinfo=NEW_YORK))
            assert f"realized       {cents(figures.realized_today)}" in summary
            assert f"trades         {figures.trades_today} ({figures.wins_today} won)" in summary
            assert "manual" in summary  # the per-bot table
            assert len(alerts(daemon, PARTNER, "Daily summary")) == 1

    asyncio.run(scenario())
