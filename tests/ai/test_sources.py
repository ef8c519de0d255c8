"""The technical and multi-timeframe sources, on hand-made bars served through a real DataHub."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import numpy as np
import pytest
import talib

from ai.data_hub import DataHub
from ai.sources.multi_timeframe import MultiTimeframeSource
from ai.sources.technical import TechnicalSource, rsi_sub_vote, technical_vote
from ai.votes import Abstention, SourceResult, Vote
from domain.instruments import Instrument
from domain.market import BarSeries, Quote
from tests.factories import T0
from tests.factories import signal as make_signal
from tests.strategies.bars import random_walk, series_from_closes


class ClosesMarket:
    """Serves, per timeframe, bars closing at the given closes (the last `count` of them)."""

    def __init__(self, closes_by_timeframe: Mapping[int, Sequence[float]]) -> None:
        self._closes = closes_by_timeframe

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        closes = self._closes.get(timeframe_seconds)
        if closes is None:
            return None
        return series_from_closes(list(closes)[-count:], timeframe_seconds=timeframe_seconds)

    async def quote(self, instrument: Instrument) -> Quote | None:
        return None


def ask(
    source: TechnicalSource | MultiTimeframeSource, closes_by_timeframe: Mapping[int, Sequence[float]]
) -> SourceResult:
    market = ClosesMarket(closes_by_timeframe)
    hub = DataHub(market.bars, market.quote, T0)
    return asyncio.run(source.vote(make_signal(), hub))


def rising(n: int, rate: float = 0.01) -> list[float]:
    """Closes compounding at `rate` a bar: a steady rise whose MACD histogram stays positive."""
    return [100.0 * (1 + rate) ** i for i in range(n)]


def falling(n: int) -> list[float]:
    return [100.0 * 0.99**i for i in range(n)]


# --- technical -----------------------------------------------------------------------------------------


def test_technical_on_a_steady_rise_has_a_positive_macd_sub_vote() -> None:
    result = ask(TechnicalSource(), {60: rising(100)})

    assert isinstance(result, Vote)
    assert result.evidence["macd"]["histogram"] > 0
    assert result.evidence["macd"]["vote"] > 0


def test_technical_vote_is_the_mean_of_its_sub_votes_and_confidence_their_agreement() -> None:
    result = ask(TechnicalSource(), {60: rising(100)})

    assert isinstance(result, Vote)
    subs = [result.evidence[name]["vote"] for name in ("rsi", "macd", "bollinger")]
    # 100 rising bars: RSI 100 votes -1 (overbought), the close sits high in the bands (bollinger fades
    # it), the MACD histogram votes up: they do not agree, so the confidence is below 1
    assert subs[0] == -1.0
    assert subs[1] > 0
    assert subs[2] < 0
    assert result.value == pytest.approx(sum(subs) / 3, abs=1e-4)
    assert result.confidence == pytest.approx(abs(sum(subs)) / sum(abs(s) for s in subs), abs=1e-3)
    assert result.confidence < 1


def test_technical_rsi_matches_talib_on_the_same_closes() -> None:
    closes = random_walk(seed=7, length=100)

    result = ask(TechnicalSource(), {60: closes})

    assert isinstance(result, Vote)
    oracle = talib.RSI(np.asarray(closes), 14)[-1]
    assert result.evidence["rsi"]["value"] == pytest.approx(oracle, abs=1e-4)
    assert result.evidence["rsi"]["vote"] == pytest.approx(rsi_sub_vote(oracle), abs=1e-4)


@pytest.mark.parametrize(
    ("rsi", "sub_vote"),
    [(100.0, -1.0), (85.0, -0.5), (70.0, 0.0), (50.0, 0.0), (30.0, 0.0), (15.0, 0.5), (0.0, 1.0)],
)
def test_rsi_votes_against_the_move_only_beyond_70_and_30(rsi: float, sub_vote: float) -> None:
    # above 70: -(rsi - 70) / 30, e.g. 85 -> -15 / 30 = -0.5; below 30: (30 - rsi) / 30, e.g. 15 -> 0.5
    assert rsi_sub_vote(rsi) == pytest.approx(sub_vote)


def test_technical_bollinger_sub_vote_fades_the_position_in_the_bands() -> None:
    closes = random_walk(seed=3, length=100)

    result = ask(TechnicalSource(), {60: closes})

    assert isinstance(result, Vote)
    upper, middle, _ = talib.BBANDS(np.asarray(closes), 20, 2.0, 2.0)
    position = (closes[-1] - middle[-1]) / (upper[-1] - middle[-1])
    assert result.evidence["bollinger"]["vote"] == pytest.approx(-max(-1.0, min(1.0, position)), abs=1e-4)


def test_technical_abstains_on_flat_prices() -> None:
    result = ask(TechnicalSource(), {60: [100.0] * 100})

    assert result == Abstention("technical", "prices did not move over the last 20 bars")


def test_technical_abstains_with_too_few_bars_for_macd() -> None:
    result = ask(TechnicalSource(), {60: rising(33)})

    assert result == Abstention("technical", "33 bars; MACD(12,26,9) needs 34")


def test_technical_votes_with_exactly_enough_bars_for_macd() -> None:
    assert isinstance(ask(TechnicalSource(), {60: rising(34)}), Vote)


def test_technical_abstains_without_bars() -> None:
    result = ask(TechnicalSource(), {})

    assert isinstance(result, Abstention)
    assert result.reason == "no 60 s bars for SPY"


def test_technical_abstains_on_a_missing_price() -> None:
    closes = random_walk(seed=1, length=100)
    closes[-5] = math.nan

    result = technical_vote(series_from_closes(closes))

    assert result == Abstention("technical", "the bars have missing prices")


def test_technical_vote_is_as_of_the_close_of_the_last_bar() -> None:
    series = series_from_closes(rising(100))

    result = technical_vote(series)

    assert isinstance(result, Vote)
    # the last bar opens 99 minutes after T0 and closes a minute later
    assert result.as_of == datetime.fromtimestamp(T0.timestamp() + 100 * 60, UTC)


# --- multi-timeframe -----------------------------------------------------------------------------------

TIMEFRAMES = (900, 3600, 14400, 86400)


def test_multi_timeframe_votes_up_with_full_confidence_when_every_timeframe_rises() -> None:
    result = ask(MultiTimeframeSource(), {tf: rising(30) for tf in TIMEFRAMES})

    assert isinstance(result, Vote)
    assert result.value == 1.0
    assert result.confidence == 1.0
    assert result.evidence["15m"] == {
        "used": True,
        "close": pytest.approx(100 * 1.01**29, abs=1e-6),
        "sma20": pytest.approx(sum(100 * 1.01**i for i in range(10, 30)) / 20, abs=1e-6),
        "trend": 1.0,
        "roc10_percent": pytest.approx((1.01**10 - 1) * 100, abs=1e-4),
        "momentum": 1.0,
        "vote": 1.0,
        "bars": 21,
    }


def test_multi_timeframe_with_mixed_timeframes_votes_in_between() -> None:
    closes = {900: rising(30), 3600: rising(30), 14400: rising(30), 86400: falling(30)}

    result = ask(MultiTimeframeSource(), closes)

    # sub-votes +1, +1, +1, -1: vote (1 + 1 + 1 - 1) / 4 = 0.5; three of four agree with "up"
    assert isinstance(result, Vote)
    assert 0 < abs(result.value) < 1
    assert result.value == pytest.approx(0.5)
    assert result.confidence == pytest.approx(0.75)
    assert result.evidence["1d"]["vote"] == -1.0


def test_multi_timeframe_half_vote_when_trend_and_momentum_disagree() -> None:
    # 21 bars: 100 eleven times, 120 nine times, then 105. The close 105 is below the SMA(20) of the last
    # 20, (10 * 100 + 9 * 120 + 105) / 20 = 2185 / 20 = 109.25 (trend -1), and above the close 10 bars
    # back, 100 (ROC +5 %, momentum +1)
    dip = [100.0] * 11 + [120.0] * 9 + [105.0]
    closes = {900: dip, 3600: rising(30)}

    result = ask(MultiTimeframeSource(timeframes=(900, 3600)), closes)

    assert isinstance(result, Vote)
    assert result.evidence["15m"]["trend"] == -1.0
    assert result.evidence["15m"]["momentum"] == 1.0
    assert result.evidence["15m"]["sma20"] == pytest.approx(109.25)
    assert result.evidence["15m"]["roc10_percent"] == pytest.approx(5.0)
    assert result.evidence["15m"]["vote"] == 0.0
    # (0 + 1) / 2 = 0.5; only the 1h timeframe has the vote's sign
    assert result.value == pytest.approx(0.5)
    assert result.confidence == pytest.approx(0.5)


def test_multi_timeframe_abstains_with_too_little_history() -> None:
    closes = {900: rising(30), 3600: rising(12)}

    result = ask(MultiTimeframeSource(), closes)

    assert result == Abstention(
        "multi_timeframe",
        "fewer than 2 timeframes with 21+ bars (1h: 12 bars, 21 needed; 4h: no bars; 1d: no bars)",
    )


def test_multi_timeframe_votes_on_the_timeframes_it_has_and_says_why_others_were_skipped() -> None:
    closes = {900: rising(30), 3600: rising(30), 14400: rising(5)}

    result = ask(MultiTimeframeSource(), closes)

    assert isinstance(result, Vote)
    assert result.value == 1.0
    assert result.evidence["4h"] == {"used": False, "skipped": "5 bars, 21 needed"}
    assert result.evidence["1d"] == {"used": False, "skipped": "no bars"}
    # as of the newest close: the 1h series' last bar opens 20 h after T0 and closes at 21 h
    assert result.as_of == datetime.fromtimestamp(T0.timestamp() + 21 * 3600, UTC)


def test_multi_timeframe_fetches_each_timeframe_once_through_the_hub() -> None:
    market = ClosesMarket({tf: rising(30) for tf in TIMEFRAMES})
    hub = DataHub(market.bars, market.quote, T0)
    signal = make_signal()

    async def twice() -> None:
        await MultiTimeframeSource().vote(signal, hub)
        await MultiTimeframeSource().vote(signal, hub)

    asyncio.run(twice())

    assert hub.fetches == 4
