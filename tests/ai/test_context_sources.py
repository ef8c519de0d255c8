"""The ensemble sources that read the daemon's own state: the ML model, bot consensus, regime context."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ai.meta_signal import BotConsensusSource
from ai.sources.macro import RegimeContextSource
from ai.sources.ml_model import MlModelSource
from ai.votes import Abstention, Vote
from domain.instruments import Instrument
from domain.market import BarSeries
from domain.regimes import Regime, RegimeReading
from domain.signals import Side, SignalIntent
from ml_models.features import compute_features, drop_warm_up
from ml_models.models import ModelRegistry
from ml_models.training.train import TrainingResult, train_asset
from tests.factories import crypto, signal
from tests.ml_models.synthetic_bars import SMALL_SPLIT, SMALL_TREES, planted_signal_bars

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@dataclass
class Hub:
    """The bars a source may ask for, at one moment."""

    series: BarSeries | None
    now: datetime = T0

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        if self.series is None or timeframe_seconds != self.series.timeframe_seconds:
            return None
        return self.series.tail(count)


# ---------------------------------------------------------------------------------------------------
# ML model
# ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained() -> TrainingResult:
    result = train_asset(planted_signal_bars(), asset="BTC", split=SMALL_SPLIT, xgb_params=SMALL_TREES)
    assert result.promoted and result.bar_seconds == 60
    return result


def test_the_ml_vote_is_the_promoted_models_probability_of_up(
    tmp_path: Path, trained: TrainingResult
) -> None:
    ModelRegistry(tmp_path).save(trained, data_source="planted")
    bars = planted_signal_bars()
    source = MlModelSource(tmp_path, {"BTC/USD": "BTC"})
    vote = asyncio.run(source.vote(signal(crypto("BTC/USD")), Hub(bars)))
    assert isinstance(vote, Vote)
    p_up = float(trained.predict_proba_up(drop_warm_up(compute_features(bars)).iloc[-1:])[0])
    assert vote.value == pytest.approx(2 * p_up - 1, abs=1e-12)
    assert vote.confidence == pytest.approx(abs(2 * p_up - 1), abs=1e-12)
    assert vote.evidence["version"] == 1
    assert vote.as_of == datetime.fromtimestamp(float(bars.times[-1]) + 60, UTC)


def test_the_ml_source_abstains_without_a_usable_model_or_bars(
    tmp_path: Path, trained: TrainingResult
) -> None:
    source = MlModelSource(tmp_path, {"BTC/USD": "BTC"})
    ask = lambda symbol, hub: asyncio.run(source.vote(signal(crypto(symbol)), hub))  # noqa: E731
    assert ask("ETH/USD", Hub(planted_signal_bars())) == Abstention(
        "ml_model", "no model is configured for ETH/USD"
    )
    assert ask("BTC/USD", Hub(planted_signal_bars())) == Abstention("ml_model", "no promoted model for BTC")
    ModelRegistry(tmp_path).save(trained, data_source="planted")
    source.reload_seconds = 0
    short = ask("BTC/USD", Hub(planted_signal_bars().tail(10)))
    assert isinstance(short, Abstention) and short.reason == "10 bars of 60 s; the model needs 34"
    record = ModelRegistry(tmp_path).list("BTC")[0]
    metadata = json.loads((record.path / "metadata.json").read_text())
    del metadata["bar_seconds"]  # a model saved before the bar length was recorded
    (record.path / "metadata.json").write_text(json.dumps(metadata))
    old = ask("BTC/USD", Hub(planted_signal_bars()))
    assert isinstance(old, Abstention) and "does not record its bar length" in old.reason


def test_a_newly_promoted_model_is_picked_up_after_the_reload_interval(
    tmp_path: Path, trained: TrainingResult
) -> None:
    registry = ModelRegistry(tmp_path)
    registry.save(trained, data_source="planted")
    source = MlModelSource(tmp_path, {"BTC/USD": "BTC"}, reload_seconds=300)
    first = asyncio.run(source.vote(signal(crypto("BTC/USD")), Hub(planted_signal_bars())))
    registry.save(trained, data_source="planted again")
    soon = asyncio.run(
        source.vote(signal(crypto("BTC/USD")), Hub(planted_signal_bars(), T0 + timedelta(seconds=299)))
    )
    later = asyncio.run(
        source.vote(signal(crypto("BTC/USD")), Hub(planted_signal_bars(), T0 + timedelta(seconds=300)))
    )
    assert isinstance(first, Vote) and isinstance(soon, Vote) and isinstance(later, Vote)
    assert (first.evidence["version"], soon.evidence["version"], later.evidence["version"]) == (1, 1, 2)


# ---------------------------------------------------------------------------------------------------
# Bot consensus
# ---------------------------------------------------------------------------------------------------
def test_bot_consensus_counts_each_other_bots_latest_entry_on_the_underlying() -> None:
    source = BotConsensusSource(window=timedelta(minutes=15), full_confidence_voices=3)
    btc, eth = crypto("BTC/USD"), crypto("ETH/USD")

    def say(bot: str, side: Side, minute: int, instrument: Instrument = btc) -> object:
        return asyncio.run(
            source.vote(signal(instrument, side, bot=bot), Hub(None, T0 + timedelta(minutes=minute)))
        )

    assert isinstance(say("a", Side.BUY, 0), Abstention)  # nobody else has spoken
    say("b", Side.SELL, 1)
    say("b", Side.BUY, 2)  # b's latest word is a buy
    say("c", Side.SELL, 3)
    say("d", Side.SELL, 4, eth)  # another underlying: not counted
    vote = say("e", Side.BUY, 5)
    # others on BTC: a buy, b buy (latest), c sell -> (2 - 1) / 3; three voices -> full confidence
    assert isinstance(vote, Vote) and vote.value == pytest.approx(1 / 3) and vote.confidence == 1.0
    assert vote.evidence == {"buys": 2, "sells": 1, "bots": ["a", "b", "c"]}
    late = say("f", Side.BUY, 19)  # a (0), b (1, 2), c (3) are older than 15 minutes now; e (5) is not
    assert (
        isinstance(late, Vote) and late.evidence["bots"] == ["e"] and late.confidence == pytest.approx(1 / 3)
    )
    exit_ = asyncio.run(
        source.vote(
            signal(btc, Side.SELL, SignalIntent.CLOSE, bot="g"), Hub(None, T0 + timedelta(minutes=19))
        )
    )
    assert isinstance(exit_, Vote) and "g" not in source_bots(source)  # an exit is not an opinion


def source_bots(source: BotConsensusSource) -> set[str]:
    return {bot for _, _, bot, _ in source._recent}


# ---------------------------------------------------------------------------------------------------
# Regime context
# ---------------------------------------------------------------------------------------------------
def test_regime_context_averages_bull_minus_bear_over_the_market_and_its_references() -> None:
    btc = crypto("BTC/USD")
    readings: dict[str, RegimeReading] = {}
    source = RegimeContextSource(lambda: readings, ("sim-stocks:SPY",))
    assert isinstance(asyncio.run(source.vote(signal(btc), Hub(None))), Abstention)
    readings |= {
        btc.key: RegimeReading(
            btc.key, Regime.BULL, {Regime.BULL: 0.7, Regime.SIDEWAYS: 0.2, Regime.BEAR: 0.1}, T0, T0, 300
        ),
        "sim-stocks:SPY": RegimeReading(
            "sim-stocks:SPY",
            Regime.BEAR,
            {Regime.BULL: 0.1, Regime.SIDEWAYS: 0.3, Regime.BEAR: 0.6},
            T0,
            T0,
            300,
        ),
    }
    vote = asyncio.run(source.vote(signal(btc), Hub(None)))
    # BTC: 0.7 - 0.1 = 0.6; SPY: 0.1 - 0.6 = -0.5; mean 0.05; confidence mean(0.7, 0.6) = 0.65
    assert isinstance(vote, Vote)
    assert vote.value == pytest.approx(0.05) and vote.confidence == pytest.approx(0.65)


def test_a_vote_outside_its_range_is_refused() -> None:
    with pytest.raises(ValueError, match=r"outside \[-1, 1\]"):
        Vote("x", 1.5, 0.5)
    with pytest.raises(ValueError, match=r"confidence .* outside \[0, 1\]"):
        replace(Vote("x", 0.5, 0.5), confidence=2.0)
