"""The operator's levers survive a restart; `status` reports the day from the journal alone."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from domain.orders import Order
from domain.positions import Position
from domain.trading_state import TradingState
from runtime.control import Control
from runtime.events import EventBus
from storage.database import open_storage
from storage.repository import Repository
from tests.factories import T0, fill, intent
from utils.clock import SimulatedClock


def test_trading_state_and_reason_survive_a_reopen(repo: Repository, journal_path: Path) -> None:
    repo.set_trading_state(TradingState.REDUCING.value, "daily loss limit: P&L today -31.20 breached -30", T0)
    repo.close()

    state = open_storage(journal_path).control_state()

    assert state.trading_state is TradingState.REDUCING
    assert state.trading_reason == "daily loss limit: P&L today -31.20 breached -30"


def test_an_unknown_trading_state_is_refused(repo: Repository) -> None:
    with pytest.raises(ValueError, match="'sleepy'"):
        repo.set_trading_state("sleepy", None, T0)
    assert repo.control_state().trading_state is TradingState.ACTIVE


def test_pausing_everything_is_remembered_and_resuming_clears_it(repo: Repository) -> None:
    repo.set_all_paused(True, "maintenance", T0)
    paused = repo.control_state()
    assert (paused.all_paused, paused.all_paused_reason) == (True, "maintenance")

    repo.set_all_paused(False, "done", T0)
    resumed = repo.control_state()
    assert (resumed.all_paused, resumed.all_paused_reason) == (False, None)


def test_paused_bots_carry_their_reason_until_resumed(repo: Repository) -> None:
    repo.set_bot_paused("rsi2-btc", True, "auto-paused after 5 consecutive failures", T0)
    repo.set_bot_paused("bollinger-eth", True, "paused by operator", T0)
    repo.set_bot_paused("rsi2-btc", True, "paused again, new reason", T0)
    repo.set_bot_paused("bollinger-eth", False, "resumed by operator", T0)

    assert dict(repo.control_state().paused_bots) == {"rsi2-btc": "paused again, new reason"}


def test_control_comes_back_paused_and_reducing_after_a_restart(journal_path: Path) -> None:
    clock = SimulatedClock(T0)
    first = open_storage(journal_path)
    control = Control(first, clock, EventBus(), ["rsi2-btc", "dual-momentum-spy"])
    control.pause_bot("rsi2-btc", "too many errors")
    control.reduce_only("daily loss limit: P&L today -40.00 breached -30")
    first.close()

    second = open_storage(journal_path)
    try:
        restored = Control(second, clock, EventBus(), ["rsi2-btc", "dual-momentum-spy"])
        assert restored.is_bot_paused("rsi2-btc") and not restored.is_bot_paused("dual-momentum-spy")
        assert restored.trading_state is TradingState.REDUCING
        assert restored.trading_reason == "daily loss limit: P&L today -40.00 breached -30"
    finally:
        second.close()


def test_daemon_values_are_kept_and_overwritten(repo: Repository) -> None:
    assert repo.get_daemon_value("trading_day") is None
    repo.set_daemon_value("trading_day", "2026-03-02")
    repo.set_daemon_value("trading_day", "2026-03-03")
    repo.set_daemon_value("day_start_equity", "100000.00000001")
    assert repo.get_daemon_value("trading_day") == "2026-03-03"
    assert Decimal(repo.get_daemon_value("day_start_equity") or "") == Decimal("100000.00000001")


def test_registering_a_bot_again_updates_it(repo: Repository) -> None:
    repo.upsert_bot("rsi2-btc", "rsi2", "crypto", "sim-crypto", "paper", "every 60 s", {"period": 2}, T0)
    repo.upsert_bot(
        "rsi2-btc", "rsi2", "crypto", "sim-crypto", "live", "every 30 s", {}, T0 + timedelta(days=1)
    )
    [bot] = repo.status_summary(T0).bots
    assert (bot.name, bot.venue, bot.mode) == ("rsi2-btc", "sim-crypto", "live")


def day_of_trading(repo: Repository) -> None:
    """Two bots; yesterday's order and fill must not count today."""
    repo.upsert_bot("rsi2-btc", "rsi2", "crypto", "sim-crypto", "paper", "every 60 s", {"period": 2}, T0)
    repo.upsert_bot(
        "spy-momentum", "dual_momentum", "stock", "sim-stocks", "paper", "cron 30 9 * * 1-5", {}, T0
    )
    yesterday = Order(intent(signal_id="sig-yesterday", time=T0 - timedelta(days=1)))
    today = Order(intent(signal_id="sig-today", time=T0 + timedelta(hours=1)))
    for order in (yesterday, today):
        repo.insert_order(order)
    old_fill = fill(yesterday.client_order_id, trade_id="t-old", seconds=-86_400)
    new_fill = fill(today.client_order_id, trade_id="t-new", seconds=3_600)
    repo.record_fill(old_fill, "bot-a")
    repo.record_fill(new_fill, "spy-momentum")
    repo.record_bot_run("rsi2-btc", T0, T0 + timedelta(seconds=1), True, None, 2)
    repo.record_bot_run(
        "rsi2-btc", T0 + timedelta(minutes=1), T0 + timedelta(minutes=1, seconds=2), False, "boom", 0
    )
    repo.record_equity(
        T0, Decimal(100000), Decimal(100000), Decimal(0), Decimal(0), Decimal(0), 0, Decimal(0)
    )
    repo.record_equity(
        T0 + timedelta(minutes=5),
        Decimal("100012.5"),
        Decimal(99000),
        Decimal(0),
        Decimal("12.5"),
        Decimal(0),
        1,
        Decimal(1000),
    )
    repo.save_position(
        Position("spy-momentum", "sim-stocks:SPY", Decimal(10), Decimal("100.01"), opened_at=T0)
    )
    repo.save_position(Position("rsi2-btc", "sim-crypto:BTC/USD"))  # flat
    repo.set_bot_paused("rsi2-btc", True, "too many errors", T0)
    repo.set_trading_state("halted", "halted by operator", T0)


def test_status_summary_reports_today_per_bot(repo: Repository) -> None:
    day_of_trading(repo)
    # orders and fills of the day are counted per bot; `bot-a` is the factories' bot for the old order
    repo.upsert_bot("bot-a", "rsi2", "stock", "sim-stocks", "paper", "every 60 s", {}, T0)

    summary = repo.status_summary(T0)

    assert summary.trading_state is TradingState.HALTED
    assert summary.latest_equity == Decimal("100012.5")
    by_name = {bot.name: bot for bot in summary.bots}
    assert [b.name for b in summary.bots] == ["bot-a", "rsi2-btc", "spy-momentum"]
    assert by_name["bot-a"].orders_today == 1  # the intent of `today` (factories' bot), not yesterday's
    assert by_name["bot-a"].fills_today == 0  # its fill was yesterday
    assert by_name["spy-momentum"].fills_today == 1
    assert by_name["rsi2-btc"].paused and not by_name["spy-momentum"].paused
    assert by_name["rsi2-btc"].last_run == T0 + timedelta(minutes=1, seconds=2)
    assert by_name["spy-momentum"].last_run is None
    assert [p.instrument_key for p in summary.open_positions] == ["sim-stocks:SPY"]


def test_status_dict_is_what_the_status_command_prints(repo: Repository) -> None:
    from master_orchestrator import _format_status

    day_of_trading(repo)
    data = repo.status_summary(T0).to_dict()

    assert data["trading_state"] == "halted"
    assert data["latest_equity"] == "100012.5"
    assert data["open_positions"] == ["spy-momentum  sim-stocks:SPY  +10 @ 100.01"]
    assert {"name", "venue", "mode", "paused", "orders_today", "fills_today", "last_run"} <= set(
        data["bots"][0]
    )
    json.loads(json.dumps(data))  # --json needs no custom encoder
    printed = _format_status({**data, "daemon_running": 4242})
    assert "trading: halted (halted by operator)" in printed and "equity: 100,012.50" in printed
    assert "spy-momentum  sim-stocks:SPY  +10 @ 100.01" in printed


def test_the_status_table_keeps_a_long_venue_name_apart_from_the_mode() -> None:
    from master_orchestrator import _format_status

    bot = {"venue": "sim-polymarket", "mode": "paper", "orders_today": 8, "fills_today": 1, "last_run": None}
    printed = _format_status(
        {
            "daemon_running": None,
            "trading_state": "active",
            "bots": [
                {**bot, "name": "mm-weather-with-a-long-name"},
                {**bot, "name": "arb", "venue": "sim-fx"},
            ],
            "brokers": [{"venue": "sim-polymarket", "mode": "paper", "connected": True}],
        }
    )
    rows = [line.split() for line in printed.splitlines()]
    assert ["mm-weather-with-a-long-name", "sim-polymarket", "paper", "active", "8", "1", "-"] in rows
    assert ["arb", "sim-fx", "paper", "active", "8", "1", "-"] in rows
    assert ["sim-polymarket", "paper", "connected", "-", "-"] in rows


def test_all_paused_marks_every_bot_paused_in_the_summary(repo: Repository) -> None:
    repo.upsert_bot("rsi2-btc", "rsi2", "crypto", "sim-crypto", "paper", "every 60 s", {}, T0)
    repo.set_all_paused(True, "maintenance", T0)
    assert all(bot.paused for bot in repo.status_summary(T0).bots)


def test_an_empty_journal_has_a_summary_too(repo: Repository) -> None:
    data = repo.status_summary(T0).to_dict()
    assert data == {
        "trading_state": "active",
        "trading_reason": None,
        "all_paused": False,
        "latest_equity": None,
        "latest_equity_at": None,
        "bots": [],
        "open_positions": [],
    }


def test_old_bot_runs_are_pruned_and_recent_ones_kept(repo: Repository) -> None:
    repo.record_bot_run("old", T0 - timedelta(days=10), T0 - timedelta(days=10), True, None, 0)
    repo.record_bot_run("edge", T0 - timedelta(days=7), T0 - timedelta(days=7), True, None, 0)
    repo.record_bot_run("new", T0 - timedelta(hours=1), T0 - timedelta(hours=1), False, "boom", 0)
    assert repo.prune_bot_runs(T0 - timedelta(days=7)) == 1
    assert [run.bot for run in repo.bot_runs()] == ["edge", "new"]
    assert repo.bot_runs("new")[0].error == "boom"
