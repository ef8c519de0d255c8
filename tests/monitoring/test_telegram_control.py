"""The levers from a phone: pause and resume really stop and restart a bot's ticks, /halt stops
new orders, /close closes a position only once its button is pressed, and a chat that is not
on the allow-list changes nothing and hears nothing."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from domain.positions import Position
from domain.signals import Side, SignalIntent
from domain.trading_state import TradingState
from storage.database import open_storage
from tests.fakes.telegram import SentMessage
from tests.monitoring.telegram_daemon import BUYER, OPERATOR, STRANGER, Daemon, cents, telegram_daemon
from tests.runtime.test_orchestrator import send_manual


def runs_of(daemon: Daemon, bot: str) -> int:
    return len(daemon.run.orchestrator.repository.bot_runs(bot))


async def confirmation(daemon: Daemon, command: str) -> tuple[SentMessage, dict[str, str]]:
    """Send a /close and return its question and its buttons by label."""
    question = await daemon.fake.reply_to(OPERATOR, command, starting="Close ")
    return question, {button["text"]: button["callback_data"] for button in question.buttons}


async def press(daemon: Daemon, question: SentMessage, data: str, *, answer: str) -> SentMessage:
    """Press a button under `question`; return the question as edited by the bot."""
    edits_before = len([m for m in daemon.fake.messages_to(OPERATOR, include_edits=True) if m.edited])
    daemon.fake.enqueue_callback(OPERATOR, data, question.message_id)
    for _ in range(500):
        edits = [m for m in daemon.fake.messages_to(OPERATOR, include_edits=True) if m.edited]
        if len(edits) > edits_before:
            edit = edits[-1]
            assert edit.message_id == question.message_id and edit.visible.startswith(answer), edit.visible
            assert edit.buttons == []  # the buttons are gone with the answer
            return edit
        await asyncio.sleep(0.02)
    raise AssertionError("the bot never answered the button")


def held(daemon: Daemon, position: Position) -> Position | None:
    return daemon.run.orchestrator.book.position(position.bot, position.instrument_key)


def test_pause_stops_a_bots_ticks_and_resume_restarts_them(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [BUYER]) as daemon:
            await daemon.advance(30)
            reply = await daemon.fake.reply_to(OPERATOR, "/pause buyer", starting="⏸ buyer paused")
            control = daemon.run.orchestrator.control
            assert control.is_bot_paused("buyer")
            assert "/resume buyer" in reply.visible
            before = runs_of(daemon, "buyer")
            await daemon.advance(60)
            assert runs_of(daemon, "buyer") == before  # no tick while paused

            await daemon.fake.reply_to(OPERATOR, "/resume buyer", starting="▶️ buyer resumed")
            assert not control.is_bot_paused("buyer")
            await daemon.advance(60)
            assert runs_of(daemon, "buyer") > before

            # the journal holds what the phone did, with the chat as the reason
            stored = open_storage(daemon.database).control_state()
            assert stored.paused_bots == {}

    asyncio.run(scenario())


def test_pause_all_pauses_every_bot_and_is_persisted_with_its_reason(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [BUYER]) as daemon:
            await daemon.fake.reply_to(OPERATOR, "/pause all", starting="⏸ All bots paused")
            stored = open_storage(daemon.database).control_state()
            assert stored.all_paused
            assert stored.all_paused_reason == f"all bots paused from Telegram (chat {OPERATOR})"
            unknown = await daemon.fake.reply_to(OPERATOR, "/pause nobody", starting="unknown bot")
            assert "/bots" in unknown.visible
            await daemon.fake.reply_to(OPERATOR, "/resume all", starting="▶️ All bots resumed")
            assert not daemon.run.orchestrator.control.all_paused

    asyncio.run(scenario())


def test_halt_stops_new_orders_until_resume_trading(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, []) as daemon:
            run = daemon.run
            instrument = run.instruments["sim-crypto:BTC/USD"]
            await daemon.fake.reply_to(OPERATOR, "/halt", starting="🛑 Trading HALTED")
            control = run.orchestrator.control
            assert control.trading_state.value == "halted"
            assert control.trading_reason == f"halted from Telegram (chat {OPERATOR})"
            entry = await send_manual(run, "manual", instrument, Side.BUY, SignalIntent.OPEN, "halted")
            assert entry is None  # refused on the road

            await daemon.fake.reply_to(OPERATOR, "/resume_trading", starting="✅ Trading active")
            assert control.trading_state is TradingState.ACTIVE
            await daemon.trade("manual", "BTC/USD", Side.BUY, SignalIntent.OPEN, "after-resume")

    asyncio.run(scenario())


def test_close_asks_first_and_closes_the_position_when_confirmed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [BUYER]) as daemon:
            await daemon.advance(30)
            daemon.run.orchestrator.control.pause_bot("buyer")  # it would buy straight back
            await daemon.quiet()
            [first, *_] = sorted(
                daemon.run.orchestrator.book.open_positions(),
                key=lambda p: abs(p.quantity * p.average_entry_price),
                reverse=True,
            )
            question, buttons = await confirmation(daemon, "/close 1")
            symbol = first.instrument_key.split(":")[1]
            assert question.visible.startswith(f"Close buyer {symbol}?")
            assert set(buttons) == {"Close it", "Cancel"}
            await asyncio.sleep(0.2)
            assert held(daemon, first) is not None, "closed before anyone confirmed"

            answer = await press(daemon, question, buttons["Close it"], answer=f"✅ Closed buyer {symbol}")
            assert held(daemon, first) is None
            trades = daemon.reports.trades(limit=10).trades
            [trade] = [t for t in trades if t.instrument_key == first.instrument_key]
            assert f"net {cents(trade.net_pnl)}" in answer.visible
            assert daemon.fake.answered_callbacks  # the phone stops its spinner

    asyncio.run(scenario())


def test_close_does_nothing_when_cancelled_or_when_its_button_is_stale(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [BUYER]) as daemon:
            await daemon.advance(30)
            daemon.run.orchestrator.control.pause_bot("buyer")
            await daemon.quiet()
            position = daemon.run.orchestrator.book.position("buyer", "sim-crypto:BTC/USD")
            assert position is not None

            question, buttons = await confirmation(daemon, "/close buyer BTC/USD")
            await press(daemon, question, buttons["Cancel"], answer="Close of buyer BTC/USD cancelled")
            assert held(daemon, position) is not None
            # the same confirmation pressed again, and a made-up one: both refused
            await press(daemon, question, buttons["Close it"], answer="This confirmation is no longer valid")
            await press(daemon, question, "close:0000deadbeef", answer="This confirmation is no longer valid")
            assert held(daemon, position) is not None
            assert daemon.run.orchestrator.repository.closed_trades() == []

    asyncio.run(scenario())


def test_a_stranger_is_ignored_silently_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="monitoring.telegram")

    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [BUYER]) as daemon:
            await daemon.advance(30)
            daemon.run.orchestrator.control.pause_bot("buyer")
            await daemon.quiet()
            position = daemon.run.orchestrator.book.position("buyer", "sim-crypto:BTC/USD")
            assert position is not None
            question, buttons = await confirmation(daemon, "/close buyer BTC/USD")

            daemon.fake.enqueue_message(STRANGER, "/halt")
            daemon.fake.enqueue_message(STRANGER, "/pause all")
            daemon.fake.enqueue_callback(STRANGER, buttons["Close it"], question.message_id)
            # updates are handled in order: once the operator's reply is here, the stranger's were seen
            await daemon.fake.reply_to(OPERATOR, "/status", starting="Status")

            control = daemon.run.orchestrator.control
            assert control.trading_state is TradingState.ACTIVE and not control.all_paused
            assert held(daemon, position) is not None
            assert daemon.fake.messages_to(STRANGER, include_edits=True) == []
            assert daemon.fake.answered_callbacks == []
            # the operator's own button still works: the stranger did not use it up
            await press(daemon, question, buttons["Close it"], answer="✅ Closed buyer BTC/USD")

    asyncio.run(scenario())
    ignored = [r.getMessage() for r in caplog.records if "not on the allow-list" in r.getMessage()]
    assert any("'/halt' from chat 999" in line for line in ignored), ignored
    assert any("'/pause' from chat 999" in line for line in ignored), ignored
    assert any("button close:" in line and "chat 999" in line for line in ignored), ignored
