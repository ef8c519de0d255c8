"""What each read-only command answers, checked against the journal (Reports) and the live
orchestrator after a short simulated run: the buyer bot trades BTC and ETH for two minutes,
and a hand-driven "manual" bot makes one SOL round trip."""

from __future__ import annotations

import asyncio
import logging
import re
from decimal import Decimal
from pathlib import Path

import pytest

from domain.signals import Side, SignalIntent
from monitoring.telegram.views import COMMANDS
from tests.fakes.telegram import SentMessage, html_problem
from tests.monitoring.telegram_daemon import (
    BUYER,
    NEW_YORK,
    OPERATOR,
    TOKEN,
    Daemon,
    cents,
    telegram_daemon,
)

# an unclosed connection or transport left behind by the bot fails the test
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")


def pre_lines(message: SentMessage) -> list[str]:
    """The lines of the message's monospace blocks, as the phone shows them."""
    blocks = re.findall(r"<pre>(.*?)</pre>", message.text, flags=re.S)
    return [line for block in blocks for line in SentMessage(0, 0, block, "HTML", None).visible.split("\n")]


def assert_phone_sized(message: SentMessage) -> None:
    assert html_problem(message.text) is None
    too_wide = [line for line in pre_lines(message) if len(line) > 32]
    assert not too_wide, too_wide


def signed(value: Decimal) -> str:
    return cents(value)


async def traded(daemon: Daemon) -> None:
    await daemon.advance(120)
    await daemon.trade("manual", "SOL/USD", Side.BUY, SignalIntent.OPEN, "in")
    daemon.run.clock.advance(5)
    await daemon.trade("manual", "SOL/USD", Side.SELL, SignalIntent.CLOSE, "out")
    await daemon.run.orchestrator.snapshot_equity()
    await daemon.quiet()


def test_status_shows_the_trading_state_equity_and_todays_pnl(tmp_path: Path) -> None:
    async def scenario() -> None:
        # the manual round trip costs about $30 of spread on the default book: a loss limit well
        # above it keeps trading ACTIVE, which is what this reply is checked for
        async with telegram_daemon(tmp_path, [BUYER], risk={"daily_loss_limit_usd": 300.0}) as daemon:
            await traded(daemon)
            summary = daemon.reports.pnl_summary(daemon.day_start())
            reply = await daemon.fake.reply_to(OPERATOR, "/status", starting="Status")

            assert summary.equity is not None and summary.pnl_today is not None
            text = reply.visible
            assert re.search(r"trading +ACTIVE", text)
            assert cents(summary.equity, signed=False) in text
            assert re.search(rf"P&L today +{re.escape(signed(summary.pnl_today))}", text)
            assert re.search(rf"trades today +{summary.trades_today}\b", text)
            assert "1 active, 0 paused" in text and "all healthy" in text
            assert_phone_sized(reply)

    asyncio.run(scenario())


def test_pnl_shows_realized_today_and_all_time_from_the_journal(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [BUYER]) as daemon:
            await traded(daemon)
            summary = daemon.reports.pnl_summary(daemon.day_start())
            reply = await daemon.fake.reply_to(OPERATOR, "/pnl", starting="P&L")

            assert summary.trades_today >= 1  # the manual round trip at least
            text = reply.visible
            assert re.search(rf"realized today +{re.escape(signed(summary.realized_today))}", text)
            assert re.search(rf"trades today +{summary.trades_today} \({summary.wins_today} won\)", text)
            assert re.search(rf"realized total +{re.escape(signed(summary.realized_total))}", text)
            assert summary.unrealized is not None and signed(summary.unrealized) in text
            assert_phone_sized(reply)

    asyncio.run(scenario())


def test_daily_lists_each_local_day_newest_first_with_its_net_pnl(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [BUYER]) as daemon:
            await traded(daemon)
            days = daemon.reports.daily_pnl("America/New_York", 3, daemon.run.clock.now())
            reply = await daemon.fake.reply_to(OPERATOR, "/daily 3", starting="P&L per day")

            rows = [line for line in reply.visible.split("\n") if re.match(r"(Mon|Sun|Sat) ", line)]
            assert [row[:9] for row in rows] == ["Mon 03-02", "Sun 03-01", "Sat 02-28"]
            today = days[-1]
            assert today.trades >= 1
            assert rows[0].split()[2] == str(today.trades) and rows[0].endswith(signed(today.net_pnl))
            assert rows[1].endswith("+0.00") and rows[2].endswith("+0.00")
            assert_phone_sized(reply)

    asyncio.run(scenario())


def test_daily_refuses_an_argument_that_is_not_a_number_of_days(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, []) as daemon:
            reply = await daemon.fake.reply_to(OPERATOR, "/daily lots", starting="usage")
            assert "/daily [days]" in reply.visible

    asyncio.run(scenario())


def test_balance_shows_each_venue_accounts_cash_as_the_venue_reports_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [BUYER]) as daemon:
            await traded(daemon)
            balances = await daemon.run.orchestrator.venue_balances()
            reply = await daemon.fake.reply_to(OPERATOR, "/balance", starting="Balances")

            lines = reply.visible.split("\n")
            for row in balances:
                cash = row["cash"]
                assert isinstance(cash, Decimal)
                # a phone-sized table shortens a long account name ("sim-polymar…")
                [line] = [
                    line
                    for line in lines
                    if line and str(row["venue"]).startswith(line.split()[0].rstrip("…"))
                ]
                assert cents(cash, signed=False) in line
            crypto = next(row for row in balances if row["venue"] == "sim-crypto")
            assert crypto["cash"] != Decimal(10_000)  # the buyer's trades moved it: a live figure
            assert_phone_sized(reply)

    asyncio.run(scenario())


def test_positions_numbers_each_open_position_with_size_entry_and_mark(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [BUYER]) as daemon:
            await traded(daemon)
            book = daemon.run.orchestrator.book.open_positions()
            reply = await daemon.fake.reply_to(OPERATOR, "/positions", starting="Positions")

            assert book, "the buyer should hold something after two minutes"
            text = reply.visible
            for position in book:
                symbol = position.instrument_key.split(":")[1]
                assert re.search(rf"^\d+ buyer {re.escape(symbol)} ", text, flags=re.M)
                size = f"+{position.quantity.normalize():f}"
                entry = f"{position.average_entry_price:.2f}"
                assert f"{size} @ {entry}" in text
            assert "SOL/USD" not in text  # the manual round trip is closed
            assert_phone_sized(reply)

    asyncio.run(scenario())


def test_trades_lists_the_newest_closed_trades_net_of_fees(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [BUYER]) as daemon:
            await traded(daemon)
            page = daemon.reports.trades(limit=5)
            reply = await daemon.fake.reply_to(OPERATOR, "/trades 5", starting="Last")

            assert page.trades[0].bot == "manual"  # the newest
            rows = [line for line in reply.visible.split("\n") if re.match(r"\d\d:\d\d ", line)]
            assert len(rows) == len(page.trades)
            for row, trade in zip(rows, page.trades, strict=True):
                closed = trade.closed_at.astimezone(NEW_YORK).strftime("%H:%M")
                assert row.startswith(f"{closed} {trade.bot}") and row.endswith(signed(trade.net_pnl))
            assert f"of {page.total} trades" in reply.visible
            assert_phone_sized(reply)

    asyncio.run(scenario())


def test_performance_shows_each_bots_trades_win_rate_and_net(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [BUYER]) as daemon:
            await traded(daemon)
            performance = daemon.reports.performance_by_bot()
            reply = await daemon.fake.reply_to(OPERATOR, "/performance", starting="Performance")

            lines = reply.visible.split("\n")
            for bot in performance:
                [line] = [line for line in lines if line.startswith(bot.key + " ")]
                assert line.split()[1] == str(bot.trades) and line.endswith(signed(bot.net_pnl))
            total = sum((p.net_pnl for p in performance), Decimal(0))
            assert next(line for line in lines if line.startswith("total")).endswith(signed(total))
            assert_phone_sized(reply)

    asyncio.run(scenario())


def test_bots_lists_each_bot_with_its_venue_and_state(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [BUYER]) as daemon:
            daemon.run.orchestrator.control.pause_bot("buyer", "checking <it> & more")
            await daemon.quiet()
            reply = await daemon.fake.reply_to(OPERATOR, "/bots", starting="Bots")

            assert re.search(r"^buyer +sim-crypto +paused$", reply.visible, flags=re.M)
            assert "buyer: checking <it> & more" in reply.visible  # escaped on the way, shown as typed
            assert_phone_sized(reply)

    asyncio.run(scenario())


def test_logs_shows_recent_log_lines_with_secrets_masked(tmp_path: Path) -> None:
    secret = "sk-live-0123456789abcdef"
    environ = {"TELEGRAM_BOT_TOKEN": TOKEN, "EXCHANGE_API_KEY": secret}

    async def scenario() -> None:
        async with telegram_daemon(tmp_path, [], environ=environ) as daemon:
            logging.getLogger("orchestrator").warning("canary <42> with key %s", secret)
            reply = await daemon.fake.reply_to(OPERATOR, "/logs 5", starting="Last")

            assert "W orchestrator: canary <42> with key ***" in reply.visible
            assert secret not in reply.text and TOKEN not in reply.text
            assert html_problem(reply.text) is None

    asyncio.run(scenario())


def test_help_lists_every_command_and_the_menu_is_registered_with_telegram(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with telegram_daemon(tmp_path, []) as daemon:
            reply = await daemon.fake.reply_to(OPERATOR, "/help", starting="Commands")
            unknown = await daemon.fake.reply_to(OPERATOR, "/frobnicate", starting="I do not know")

            names = [c.name for c in COMMANDS]
            for name in names:
                assert re.search(rf"^/{name}\b.* - ", reply.visible, flags=re.M), name
            assert [c["command"] for c in daemon.fake.commands] == names
            assert "/help" in unknown.visible

    asyncio.run(scenario())
