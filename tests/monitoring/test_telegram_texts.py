"""The pure parts: phone-width tables, HTML that Telegram accepts whatever the names contain,
messages cut to Telegram's size, alert texts, and the allow-list's parsing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from config.schema import TelegramSettings
from monitoring.telegram.access import AllowListError, allow_list
from monitoring.telegram.alerts import batch_text, immediate_text
from monitoring.telegram.formatting import fit, money, price, quantity, table
from monitoring.telegram.views import BotLine, PositionLine, bots_view, logs_view, positions_view
from runtime.events import Event
from tests.fakes.telegram import MAX_TEXT, html_problem, visible_text

T = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def fill(symbol: str, side: str = "buy", *, exit: bool = False, bot: str = "rsi2-btc") -> Event:
    return Event(
        "fill",
        T,
        f"{bot} {side} ...",
        {
            "bot": bot,
            "instrument_key": f"sim-crypto:{symbol}",
            "side": side,
            "quantity": "0.01230000",
            "price": "60123.456",
            "mode": "paper",
            "exit": exit,
            "position_quantity": "0E-8" if exit else "0.0123",
        },
    )


def test_numbers_read_as_a_trader_writes_them() -> None:
    assert money(Decimal("1234.5")) == "+1,234.50" and money(Decimal("-0.004")) == "+0.00"
    assert money(Decimal("1234.5"), signed=False) == "1,234.50"
    assert price(Decimal("60123.456")) == "60,123.46" and price(Decimal("0.34")) == "0.34"
    assert money(Decimal("0.125")) == "+0.13"  # half up, not Decimal's half even
    assert price(Decimal("1.08345")) == "1.0835" and price(Decimal("60123.4"), grouped=False) == "60123.40"
    assert quantity(Decimal("0.01230000")) == "0.0123" and quantity(Decimal("5E+1")) == "50"
    assert quantity(Decimal("-0.5"), signed=True) == "-0.5" and quantity(Decimal("2"), signed=True) == "+2"


def test_a_table_fits_32_columns_by_shortening_text_never_numbers() -> None:
    rows = [("a-very-long-bot-name-for-momentum", "sim-stocks-venue", "+12,345.67")]
    lines = table(("bot", "venue", "net"), rows, right=(2,)).split("\n")
    assert all(len(line) <= 32 for line in lines), lines
    assert lines[1].endswith("+12,345.67") and "…" in lines[1]
    assert lines[0].startswith("bot ") and lines[0].endswith("net")


def test_names_with_html_characters_are_escaped_so_telegram_accepts_the_message() -> None:
    bots = [BotLine("<b>ot</b>&co", "sim-<x>", "live", "paused by <script> & co")]
    text = bots_view(bots, all_paused=True)
    assert html_problem(text) is None
    assert "paused by <script> & co" in visible_text(text)
    assert "ALL bots are paused" in visible_text(text)


def test_positions_show_size_entry_mark_and_unrealized_on_a_phone() -> None:
    lines = [
        PositionLine(
            1, "buyer", "sim-crypto:BTC/USD", Decimal("0.0186"), Decimal("59329.79"), Decimal("59207.52")
        ),
        PositionLine(2, "buyer", "kalshi:KXHIGHCHI-26FEB09-B38.5", Decimal("-40"), Decimal("0.21"), None),
    ]
    shown = visible_text(positions_view(lines))
    body = shown.split("\n")[1:-1]
    assert all(len(line) <= 32 for line in body), body
    assert "  +0.0186 @ 59329.79 → 59207.52" in shown
    assert "-2.27" in shown  # (59207.52 - 59329.79) x 0.0186
    assert "no price" in shown and "?" in shown


def test_a_long_message_is_cut_to_telegrams_size_keeping_the_newest_log_lines() -> None:
    lines = [f"10:00:{i % 60:02d} I orchestrator: line {i} <&>" for i in range(2000)]
    text = logs_view(lines)
    assert html_problem(text) is None and len(visible_text(text)) <= MAX_TEXT
    assert "line 1999 <&>" in visible_text(text) and "line 0 <&>" not in visible_text(text)
    cut = fit("<b>t</b>\n<pre>" + "\n".join("x" * 30 for _ in range(500)) + "</pre>\nnote")
    assert html_problem(cut) is None and len(cut) <= 3900 and cut.endswith("…</pre>\nnote")


def test_a_batch_lists_each_fill_and_counts_repeated_bot_errors() -> None:
    error = Event("bot_error", T, "broken: RuntimeError: boom", {"bot": "broken"})
    closed = Event(
        "trade_closed",
        T,
        "...",
        {"bot": "rsi2-btc", "instrument_key": "sim-crypto:BTC/USD", "net_pnl": "-1.2345"},
    )
    text = batch_text(
        [fill("BTC/USD"), fill("ETH/USD"), error, fill("BTC/USD", "sell", exit=True), closed, error]
    )
    shown = visible_text(text)
    assert html_problem(text) is None
    assert shown.startswith("Trades (3 fills, 1 closed)")
    assert "BUY BTC/USD 0.0123 @ 60,123.46\n  rsi2-btc entry" in shown
    assert "SELL BTC/USD 0.0123 @ 60,123.46\n  rsi2-btc exit, flat" in shown
    assert "= BTC/USD net -1.23" in shown
    assert "broken: RuntimeError: boom (x2)" in shown


def test_immediate_alerts_for_halts_risk_and_broker_health_and_silence_for_the_rest() -> None:
    halted = immediate_text(Event("trading_state", T, "trading halted: news <CPI>", {"state": "halted"}))
    assert halted is not None and visible_text(halted) == "🛑 Trading HALTED: nothing new is sent\nnews <CPI>"
    critical = immediate_text(
        Event("risk", T, "P&L -31", {"kind": "daily_loss_halt", "severity": "critical"})
    )
    assert critical is not None and "Risk: daily_loss_halt (critical)" in visible_text(critical)
    down = immediate_text(
        Event(
            "broker_health",
            T,
            "kalshi (live) DOWN: 503",
            {"venue": "kalshi", "mode": "live", "healthy": False},
        )
    )
    assert down is not None and visible_text(down).startswith("🔌 kalshi (live) DOWN")
    back = immediate_text(
        Event("broker_health", T, "kalshi (live) back", {"venue": "kalshi", "mode": "live", "healthy": True})
    )
    assert back == "🔌 kalshi (live) is back"
    assert immediate_text(Event("risk", T, "cooldown", {"kind": "x", "severity": "warning"})) is None
    assert immediate_text(Event("order", T, "whatever")) is None
    assert immediate_text(Event("regime_change", T, "BTC/USD: bull -> bear")) is None  # dashboard only


def test_a_retraining_run_is_announced_with_each_assets_outcome() -> None:
    outcomes = [
        {"asset": "BTC", "reason": "v3 promoted, now in use: log loss <0.68>"},
        {"asset": "ETH", "reason": "v2 saved, not promoted: baseline not beaten"},
    ]
    text = immediate_text(
        Event("models_retrained", T, "2 assets retrained; new models in use: BTC", {"outcomes": outcomes})
    )
    assert text is not None and "&lt;0.68&gt;" in text  # escaped for Telegram's HTML
    assert visible_text(text) == (
        "🧠 Models retrained: 2 assets retrained; new models in use: BTC\n"
        "BTC: v3 promoted, now in use: log loss <0.68>\n"
        "ETH: v2 saved, not promoted: baseline not beaten"
    )


def test_the_allow_list_joins_the_settings_and_the_environment() -> None:
    settings = TelegramSettings(allowed_chat_ids=[111])
    allowed = allow_list(settings, {"TELEGRAM_ALLOWED_CHAT_IDS": " 222, -100333 ,, "})
    assert allowed.ordered() == [-100333, 111, 222]
    assert allowed.allows(-100333) and not allowed.allows(999) and not allowed.allows(None)
    with pytest.raises(AllowListError, match="TELEGRAM_ALLOWED_CHAT_IDS: '12a' is not a Telegram chat id"):
        allow_list(settings, {"TELEGRAM_ALLOWED_CHAT_IDS": "111,12a"})
    assert allow_list(TelegramSettings(), {}).ordered() == []


def test_daily_rows_are_labelled_by_local_weekday() -> None:
    from monitoring.telegram.views import daily_view
    from storage.reports import DayPnl

    text = visible_text(
        daily_view(
            [DayPnl(date(2026, 3, 1), 0, 0, Decimal(0)), DayPnl(date(2026, 3, 2), 4, 3, Decimal("12.5"))]
        )
    )
    lines = text.split("\n")
    assert lines[2].startswith("Mon 03-02") and lines[2].endswith("+12.50") and "75%" in lines[2]
    assert lines[3].startswith("Sun 03-01") and lines[-1].startswith("total") and lines[-1].endswith("+12.50")
