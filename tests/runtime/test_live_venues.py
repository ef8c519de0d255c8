"""The daemon on a real venue: mode and venue in the registry are all it takes.

A settings file declares an Alpaca venue whose hosts point at the local fake
Alpaca (tests/fakes/alpaca.py); the daemon is built by `build_live` exactly as
`master_orchestrator.py run` builds it, with keys from an environment mapping.
A live bot's order reaches the fake through alpaca-py over HTTP; a paper bot on
the same venue fills in our paper broker against the venue's quotes and never
reaches it; a restart reconciles with the venue; missing keys refuse the start.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from backtest.replay_journal import mark_replay
from bots.base import Bot, BotContext
from brokers.base import BrokerError
from config.loader import ConfigError
from domain.orders import OrderStatus
from domain.positions import ClosedTrade
from domain.signals import Side, Signal, SignalIntent, make_signal_id
from master_orchestrator import Orchestrator
from runtime.wiring import build_live
from storage.database import open_storage
from storage.repository import Repository
from tests.fakes.alpaca import API_KEY, SECRET_KEY, FakeAlpaca, stock_asset

ENVIRON = {"ALPACA_API_KEY": API_KEY, "ALPACA_SECRET_KEY": SECRET_KEY}
VENUE = "alpaca-us"
pytestmark = pytest.mark.slow


class QuietBot(Bot):
    """Never signals on its own: the tests send hand-made signals in its name."""

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        return []


@pytest.fixture
def fake() -> Iterator[FakeAlpaca]:
    venue = FakeAlpaca().start()
    venue.add_asset(stock_asset("SPY"))
    venue.add_asset(stock_asset("QQQ"))
    venue.exchange.set_quote("SPY", "99.99", "100.01")
    venue.exchange.set_quote("QQQ", "399.90", "400.10")
    # four hours of one-minute bars (a seeded random walk), enough for the regime model's first fit
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    closes = 100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.001, 240)))
    venue.bars[("SPY", "1Min")] = [
        {"t": (minute - timedelta(minutes=240 - i)).strftime("%Y-%m-%dT%H:%M:%SZ"), "o": c, "h": c * 1.0005,
         "l": c * 0.9995, "c": c, "v": 1000, "n": 10, "vw": c}
        for i, c in enumerate(closes)
    ]  # fmt: skip
    yield venue
    venue.stop()


def write_config(
    tmp_path: Path,
    fake: FakeAlpaca,
    *,
    live_bot_enabled: bool = True,
    go_live_gate: bool = False,
    replay_journals: tuple[Path, ...] = (),
) -> Path:
    quiet = "tests.runtime.test_live_venues:QuietBot"
    (tmp_path / "bots.toml").write_text(
        f"""
[[bots]]
name = "live-spy"
class = "{quiet}"
instruments = ["SPY"]
venue = "{VENUE}"
mode = "live"
enabled = {str(live_bot_enabled).lower()}
schedule = {{ interval_seconds = 3600 }}

[[bots]]
name = "paper-spy"
class = "{quiet}"
instruments = ["SPY"]
venue = "{VENUE}"
mode = "paper"
schedule = {{ interval_seconds = 3600 }}
"""
    )
    settings = tmp_path / "settings.toml"
    settings.write_text(
        f"""
[system]
database = "{tmp_path / "trading.sqlite"}"
var_dir = "{tmp_path / "var"}"
registry = "bots.toml"

[risk]
reentry_cooldown_minutes = 0.0

[dashboard]
enabled = false

[ensemble]  # these tests are about the venue; the AI stages and the ML models are tested on their own
enabled = false

[ml]
enabled = false

[go_live]  # the venue tests' live bot has no record; the gate has its own test below
enabled = {str(go_live_gate).lower()}
replay_journals = {json.dumps([str(p) for p in replay_journals])}

[veto]
enabled = false

[venues.sim-stocks]
asset_class = "stock"

[venues.{VENUE}]
kind = "alpaca"
asset_class = "stock"
environment = "sandbox"
base_url = "{fake.url}"
data_url = "{fake.url}"
symbols = ["SPY"]
timeout_seconds = 2.0
max_attempts = 2
"""
    )
    return settings


async def fitted(orchestrator: Orchestrator) -> Orchestrator:
    """The daemon once SPY's regime model is in: the start-up fit and the fit job share the markets
    out, so `started_work_done` alone can return before SPY's fit (a race a loaded machine loses)."""
    await orchestrator.started_work_done()
    regimes = orchestrator.regimes
    instrument = orchestrator.instruments[f"{VENUE}:SPY"]
    if regimes is not None and regimes.model(instrument.key) is None:
        assert (await regimes.refit(instrument)).ok
    return orchestrator


def entry(orchestrator: Orchestrator, bot: str, sequence: int) -> Signal:
    instrument = orchestrator.instruments[f"{VENUE}:SPY"]
    now = orchestrator.clock.now()
    return Signal(
        id=make_signal_id(bot, instrument.key, now, sequence),
        bot=bot,
        instrument=instrument,
        side=Side.BUY,
        intent=SignalIntent.OPEN,
        confidence=0.6,
        edge=0.01,
        stop=98.0,
        reason="test entry",
        time=now,
        evidence={"atr": 0.5},
    )


def test_a_live_bot_trades_at_the_venue_and_a_paper_bot_beside_it_does_not(
    tmp_path: Path, fake: FakeAlpaca
) -> None:
    settings = write_config(tmp_path, fake)

    async def scenario() -> None:
        orchestrator = await build_live(settings, environ=ENVIRON)
        await orchestrator.start()
        await fitted(orchestrator)  # the regime model's first fit
        try:
            instrument = orchestrator.instruments[f"{VENUE}:SPY"]
            # the venue's own increments, read from Alpaca at start
            assert (instrument.tick_size, instrument.lot_size) == (Decimal("0.01"), Decimal(1))

            live = await orchestrator.process_signal(entry(orchestrator, "live-spy", 0))
            assert live is not None and live.status is OrderStatus.FILLED, live and live.status
            at_venue = fake.order_by_client_id(live.client_order_id)
            assert at_venue is not None, "the live order must reach Alpaca under our client order id"
            assert at_venue.filled == live.filled_quantity

            paper = await orchestrator.process_signal(entry(orchestrator, "paper-spy", 1))
            assert paper is not None and paper.status is OrderStatus.FILLED
            assert fake.order_by_client_id(paper.client_order_id) is None  # paper never reaches the venue
            assert paper.average_fill_price is not None and paper.average_fill_price >= Decimal("100.01")
            assert len(fake.exchange.orders) == 1
        finally:
            await orchestrator.stop()

    asyncio.run(scenario())
    repo = open_storage(tmp_path / "trading.sqlite")
    fills = {f.client_order_id: f for f in repo.fills()}
    assert len(fills) == 2
    positions = {p.bot: p for p in repo.load_positions(open_only=True)}
    assert set(positions) == {"live-spy", "paper-spy"}


def test_a_restart_reconciles_with_the_venue_and_reports_a_position_the_journal_did_not_know(
    tmp_path: Path, fake: FakeAlpaca
) -> None:
    settings = write_config(tmp_path, fake)

    async def first_run() -> None:
        orchestrator = await build_live(settings, environ=ENVIRON)
        await orchestrator.start()
        await fitted(orchestrator)  # the regime model's first fit
        try:
            order = await orchestrator.process_signal(entry(orchestrator, "live-spy", 0))
            assert order is not None and order.status is OrderStatus.FILLED
        finally:
            await orchestrator.stop()

    asyncio.run(first_run())
    bought = fake.exchange.positions["SPY"].quantity
    # someone trades the account by hand while the daemon is down
    fake.exchange.add_position("SPY", bought + 5, Decimal("100.01"))

    async def second_run() -> None:
        orchestrator = await build_live(settings, environ=ENVIRON)
        await orchestrator.start()  # reconciles with every venue
        await orchestrator.stop()

    asyncio.run(second_run())
    repo = open_storage(tmp_path / "trading.sqlite")
    differences = [e for e in repo.risk_events() if e.kind == "reconcile_difference"]
    assert len(differences) == 1
    assert f"{VENUE}:SPY" in differences[0].message and "(live)" in differences[0].message
    assert Decimal(str(differences[0].details["journal"])) == bought
    assert Decimal(str(differences[0].details["venue"])) == bought + 5
    assert len(fake.exchange.orders) == 1  # nothing was resent


def test_missing_keys_refuse_the_start_naming_the_bot_and_the_variables(
    tmp_path: Path, fake: FakeAlpaca
) -> None:
    settings = write_config(tmp_path, fake)
    with pytest.raises(ConfigError) as refused:
        asyncio.run(build_live(settings, environ={}))
    message = str(refused.value)
    assert "live-spy" in message and VENUE in message
    assert "ALPACA_API_KEY" in message and "ALPACA_SECRET_KEY" in message
    assert fake.server.requests == []  # nothing was sent anywhere


def test_a_live_bot_on_a_simulated_venue_is_a_configuration_error(tmp_path: Path, fake: FakeAlpaca) -> None:
    settings = write_config(tmp_path, fake, live_bot_enabled=False)
    registry = tmp_path / "bots.toml"
    registry.write_text(
        registry.read_text().replace(
            f'venue = "{VENUE}"\nmode = "paper"', 'venue = "sim-stocks"\nmode = "live"'
        )
    )
    with pytest.raises(ConfigError, match="is simulated and cannot trade live"):
        asyncio.run(build_live(settings, environ=ENVIRON))


def test_a_live_account_brings_no_more_than_its_free_cash_to_the_book(tmp_path: Path) -> None:
    """A $10,000 budget on an account holding $2,500 sizes from $2,500, never from money it lacks."""
    venue = FakeAlpaca(cash=Decimal("2500")).start()
    try:
        venue.add_asset(stock_asset("SPY"))
        venue.exchange.set_quote("SPY", "99.99", "100.01")
        settings = write_config(tmp_path, venue)

        async def start_and_read() -> Decimal:
            orchestrator = await build_live(settings, environ=ENVIRON)
            await orchestrator.start()
            await orchestrator.stop()
            return orchestrator.book.starting_capital

        capital = asyncio.run(start_and_read())
    finally:
        venue.stop()
    # the paper account of the venue (10,000), the simulated stock venue (10,000), the live 2,500
    assert capital == Decimal("22500")


def test_a_venue_that_goes_down_and_comes_back_is_announced_on_the_bus(
    tmp_path: Path, fake: FakeAlpaca
) -> None:
    from runtime.events import Event
    from tests.fakes.server import Fault

    settings = write_config(tmp_path, fake)
    heard: list[Event] = []

    async def scenario() -> None:
        orchestrator = await build_live(settings, environ=ENVIRON)
        orchestrator.bus.subscribe(
            lambda event: heard.append(event) if event.kind == "broker_health" else None
        )
        await orchestrator.start()
        await fitted(orchestrator)  # the regime model's first fit
        try:
            live = orchestrator.router.routes[(VENUE, "live")]
            fake.server.inject(Fault(status=503, times=10, path_contains="/v2/account", reason="maintenance"))
            with pytest.raises(BrokerError):
                await live.balance()
            orchestrator.record_broker_health()
            fake.server.clear_faults()
            await live.balance()
            orchestrator.record_broker_health()
            orchestrator.record_broker_health()  # no change: no event
        finally:
            await orchestrator.stop()

    asyncio.run(scenario())
    assert [(e.payload["venue"], e.payload["mode"], e.payload["healthy"]) for e in heard] == [
        (VENUE, "live", False),
        (VENUE, "live", True),
    ]
    assert "maintenance" in heard[0].message


def test_the_live_daemon_answers_telegram_and_serves_its_dashboard(tmp_path: Path, fake: FakeAlpaca) -> None:
    """`build_live` wires both operator surfaces: a /status from the allowed chat is answered,
    the dashboard answers on its port, and both stop with the daemon."""
    import time
    import urllib.request

    from tests.fakes.telegram import TOKEN, FakeTelegram

    telegram = FakeTelegram().start()
    try:
        settings = write_config(tmp_path, fake)
        text = settings.read_text().replace("[dashboard]\nenabled = false\n", "[dashboard]\nport = 0\n")
        text += f'\n[telegram]\nbase_url = "{telegram.url}"\nallowed_chat_ids = [42]\n'
        settings.write_text(text)
        environ = {**ENVIRON, "TELEGRAM_BOT_TOKEN": TOKEN, "DASHBOARD_TOKEN": "a-long-dashboard-token-0123"}

        def first_reply() -> str:
            deadline = time.monotonic() + 15
            # commands sent before polling starts are dropped on purpose (no stale /halt): wait for it
            while not telegram.calls("getUpdates") and time.monotonic() < deadline:
                time.sleep(0.05)
            telegram.enqueue_message(42, "/status")
            while not telegram.messages_to(42) and time.monotonic() < deadline:
                time.sleep(0.1)
            return telegram.messages_to(42)[0].visible

        def overview_status(url: str) -> int:
            with urllib.request.urlopen(f"{url.rstrip('/')}/api/overview", timeout=10) as answer:
                return int(answer.status)

        async def scenario() -> str:
            orchestrator = await build_live(settings, environ=environ)
            await orchestrator.start()
            try:
                # off the loop: both surfaces need the daemon's loop free to answer
                reply = await asyncio.to_thread(first_reply)
                assert await asyncio.to_thread(overview_status, _dashboard_url(orchestrator)) == 200
                return reply
            finally:
                await orchestrator.stop()

        reply = asyncio.run(scenario())
    finally:
        telegram.stop()
    assert "active" in reply.lower()


def _dashboard_url(orchestrator: Orchestrator) -> str:
    """The running dashboard's address, from the service its start hook belongs to."""
    for hook in orchestrator.on_start:
        url = getattr(getattr(hook, "__self__", None), "url", None)
        if isinstance(url, str):
            return url
    raise AssertionError("no dashboard was attached to the daemon")


def test_a_venue_that_only_lends_its_prices_is_connected_too(tmp_path: Path, fake: FakeAlpaca) -> None:
    """A bot's venue falls back to another for quotes: both are in use, and the chain asks its own
    venue first, then the fallback."""
    from config.loader import load_config
    from runtime.venues import venues_in_use

    settings = write_config(tmp_path, fake)
    text = settings.read_text().replace(
        "max_attempts = 2\n", 'max_attempts = 2\nfallback_price_venue = "alpaca-backup"\n'
    )
    text += (
        text[text.index(f"[venues.{VENUE}]") :]
        .replace(f"[venues.{VENUE}]", "[venues.alpaca-backup]")
        .replace('fallback_price_venue = "alpaca-backup"\n', "")
    )
    settings.write_text(text)
    config = load_config(settings)
    assert venues_in_use(config) == {VENUE, "alpaca-backup"}

    async def chain() -> list[str]:
        orchestrator = await build_live(settings, environ=ENVIRON)
        await orchestrator.start()
        await fitted(orchestrator)  # the regime model's first fit
        await orchestrator.stop()
        return [source.venue for source in orchestrator.prices._sources[VENUE]]  # type: ignore[attr-defined]

    assert asyncio.run(chain()) == [VENUE, "alpaca-backup"]


def test_a_live_bot_starts_only_once_its_record_passes_the_go_live_gate(
    tmp_path: Path, fake: FakeAlpaca
) -> None:
    settings = write_config(tmp_path, fake, go_live_gate=True)

    async def run_once() -> list[str]:
        orchestrator = await build_live(settings, environ=ENVIRON)
        await orchestrator.start()
        try:
            return orchestrator.scheduler.job_ids()
        finally:
            await orchestrator.stop()

    # no record: the paper bot runs, the live one is not started and the journal says why
    jobs = asyncio.run(run_once())
    assert "bot:paper-spy" in jobs and "bot:live-spy" not in jobs
    repo = open_storage(tmp_path / "trading.sqlite")
    [refusal] = [e for e in repo.risk_events() if e.kind == "go_live_refused"]
    assert refusal.severity == "error" and refusal.bot == "live-spy"
    assert "0 trades, needs 100+" in refusal.message and "no trades, needs 45%+" in refusal.message

    # sixty days of paper trading, two round trips a day: +2.00 and +1.00, but -2.00 and -1.00 every
    # fifth day (120 trades, 96 won: 80 %); daily P&L +3 on 48 days, -3 on 12 and 0 today: mean 1.77,
    # sample sd 2.41, Sharpe 0.73 x sqrt(365) = 14, far above 1
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    for day in range(60, 0, -1):
        closed_at = today - timedelta(days=day)
        pnls = (Decimal("-2"), Decimal("-1")) if day % 5 == 0 else (Decimal("2"), Decimal("1"))
        for n, pnl in enumerate(pnls):
            repo.record_closed_trade(
                ClosedTrade(
                    "live-spy", f"{VENUE}:SPY", Side.BUY, Decimal(1), Decimal(100), Decimal(100) + pnl,
                    pnl, Decimal(0), closed_at - timedelta(hours=1 + n), closed_at + timedelta(minutes=n),
                )
            )  # fmt: skip
    jobs = asyncio.run(run_once())
    assert "bot:live-spy" in jobs
    assert (
        len(
            [
                e
                for e in open_storage(tmp_path / "trading.sqlite").risk_events()
                if e.kind == "go_live_refused"
            ]
        )
        == 1
    )


def record_good_trades(repo: Repository, bot: str, last_day: datetime) -> None:
    """Sixty days before `last_day`, two round trips a day: +2.00 and +1.00, but -2.00 and -1.00 every
    fifth day (120 trades, 80 % won, a daily Sharpe far above 1; see the test above)."""
    for day in range(60, 0, -1):
        closed_at = last_day - timedelta(days=day)
        pnls = (Decimal("-2"), Decimal("-1")) if day % 5 == 0 else (Decimal("2"), Decimal("1"))
        for n, pnl in enumerate(pnls):
            repo.record_closed_trade(
                ClosedTrade(
                    bot, f"{VENUE}:SPY", Side.BUY, Decimal(1), Decimal(100), Decimal(100) + pnl,
                    pnl, Decimal(0), closed_at - timedelta(hours=1 + n), closed_at + timedelta(minutes=n),
                )
            )  # fmt: skip


def test_a_live_bot_may_start_on_the_record_of_a_replay_listed_in_the_settings(
    tmp_path: Path, fake: FakeAlpaca
) -> None:
    # a replay of last year: its days run to the replay's own end, so the months since do not dilute it
    replay = tmp_path / "replays" / "spy" / "replay.sqlite"
    replay.parent.mkdir(parents=True)
    end = datetime(2025, 6, 30, 20, 0, tzinfo=UTC)
    journal = open_storage(replay)
    mark_replay(journal, {"start": (end - timedelta(days=61)).isoformat(), "end": end.isoformat()})
    record_good_trades(journal, "live-spy", end)
    journal.close()
    missing = tmp_path / "replays" / "gone" / "replay.sqlite"
    settings = write_config(tmp_path, fake, go_live_gate=True, replay_journals=(missing, replay))

    async def run_once() -> list[str]:
        orchestrator = await build_live(settings, environ=ENVIRON)
        await orchestrator.start()
        try:
            return orchestrator.scheduler.job_ids()
        finally:
            await orchestrator.stop()

    assert "bot:live-spy" in asyncio.run(run_once())  # no paper record at all, the replay's passes
    events = open_storage(tmp_path / "trading.sqlite").risk_events()
    assert not [e for e in events if e.kind == "go_live_refused"]
    [unread] = [e for e in events if e.kind == "go_live_journal"]
    assert f"replay journal {missing} does not exist" in unread.message


def test_a_replay_that_fails_the_gate_does_not_open_it_and_the_refusal_says_both(
    tmp_path: Path, fake: FakeAlpaca
) -> None:
    replay = tmp_path / "replay.sqlite"
    journal = open_storage(replay)
    end = datetime(2025, 6, 30, 20, 0, tzinfo=UTC)
    mark_replay(journal, {"start": (end - timedelta(days=5)).isoformat(), "end": end.isoformat()})
    journal.close()
    settings = write_config(tmp_path, fake, go_live_gate=True, replay_journals=(replay,))

    async def run_once() -> list[str]:
        orchestrator = await build_live(settings, environ=ENVIRON)
        await orchestrator.start()
        try:
            return orchestrator.scheduler.job_ids()
        finally:
            await orchestrator.stop()

    assert "bot:live-spy" not in asyncio.run(run_once())
    [refusal] = [
        e for e in open_storage(tmp_path / "trading.sqlite").risk_events() if e.kind == "go_live_refused"
    ]
    assert "paper: 0 trades, needs 100+" in refusal.message
    assert f"replay {replay}: 0 trades, needs 100+" in refusal.message
