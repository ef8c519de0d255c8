"""Markets listed after the start reach the daemon: the listing job hands a prediction venue's new
markets to the book, the paper venue and the bots whose registry patterns match them.

The simulated Kalshi venue lists two days ahead here; three days on, the job's run lists the
days since, and a bot on `KXHIGHCHI*` trades Chicago's new ladders (and no other city's).
"""

from __future__ import annotations

import asyncio
import inspect
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from config.loader import LoadedConfig
from domain.orders import OrderStatus, market_intent
from domain.signals import Side, Signal, SignalIntent, make_signal_id
from runtime.wiring import build_simulated
from tests.runtime.test_orchestrator import START, configured

VENUE = "sim-kalshi"


def config_with_chicago_bot(tmp_path: Path) -> LoadedConfig:
    bots = [
        {
            "name": "chicago-edges",
            "class": "event_trading",
            "instruments": ["KXHIGHCHI*"],
            "venue": VENUE,
            "schedule": {"interval_seconds": 300},
        }
    ]
    config = configured(tmp_path, bots)
    settings = config.settings
    prediction = settings.prediction.model_copy(update={"simulated_days": 2})
    return LoadedConfig(
        settings.model_copy(update={"prediction": prediction}),
        config.registry,
        config.settings_path,
        config.registry_path,
    )


def test_the_listing_job_gives_the_daemon_and_the_matching_bots_the_newly_listed_markets(
    tmp_path: Path,
) -> None:
    run = build_simulated(config_with_chicago_bot(tmp_path), START)
    orchestrator = run.orchestrator
    [bot] = [b.bot for b in orchestrator.bots]
    [listing_job] = [job for name, _, job in orchestrator.periodic_hooks if name == "prediction-listings"]

    async def scenario() -> None:
        await orchestrator.start()
        at_start = {i.symbol for i in bot.instruments}
        assert at_start and all(s.startswith("KXHIGHCHI-") for s in at_start)
        known = set(orchestrator.instruments)

        run.clock.advance(timedelta(days=3).total_seconds())
        result = listing_job()
        if inspect.isawaitable(result):
            await result

        new_keys = set(orchestrator.instruments) - known
        # three more days of four cities' six-market ladders, on Kalshi and on its Polymarket twin
        assert len([k for k in new_keys if k.startswith("sim-kalshi:KXHIGH")]) == 3 * 4 * 6
        # and three more days of two games' two markets
        assert len([k for k in new_keys if k.startswith("sim-kalshi:KXNBAGAME")]) == 3 * 2 * 2
        assert len([k for k in new_keys if k.startswith("sim-polymarket:")]) == 3 * 4 * 6
        new_symbols = {orchestrator.instruments[k].symbol for k in new_keys}
        new_chicago = {s for s in new_symbols if s.startswith("KXHIGHCHI-")}
        assert len(new_chicago) == 3 * 6
        assert {i.symbol for i in bot.instruments} == at_start | new_chicago
        # the job again: nothing new, nothing doubled
        again = listing_job()
        if inspect.isawaitable(again):
            await again
        assert len(bot.instruments) == len(at_start) + len(new_chicago)

        # a new market trades on the paper venue: one open now (the next day's ladder)
        paper = run.paper_brokers[VENUE]
        now = orchestrator.clock.now()
        tradable = None
        for key in sorted(new_keys):
            instrument = orchestrator.instruments[key]
            quote = await orchestrator.prices.quote(instrument)
            if quote is not None and quote.ask < Decimal("0.90"):
                tradable = instrument
                break
        assert tradable is not None, "no newly listed market is trading"
        signal = Signal(
            id=make_signal_id("chicago-edges", tradable.key, now, 0),
            bot="chicago-edges",
            instrument=tradable,
            side=Side.BUY,
            intent=SignalIntent.OPEN,
            confidence=0.6,
            edge=0.1,
            stop=None,
            reason="test",
            time=now,
        )
        answer = await paper.submit(market_intent(signal, Decimal(1), now, reduce_only=False))
        assert answer.status is OrderStatus.FILLED, answer.reason
        await orchestrator.stop()

    asyncio.run(scenario())
