"""The market analyst end to end: the real Anthropic and OpenAI SDKs over HTTP to local fakes of their
APIs, bars served through a real DataHub, plus the pure parts (the view's parsing, the prompt)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ai.data_hub import DataHub
from ai.ensemble import EnsembleSettings, EnsembleStage
from ai.llm import AnthropicLlm, LlmBudget, LlmClient, MalformedAnswer, OpenAILlm, load_template, parse_view
from ai.llm.prompt import TEMPLATE_PATH
from ai.market_analyst import (
    PROMPT_VERSION,
    MarketAnalyst,
    MarketEvidence,
    render_prompt,
)
from ai.votes import Abstention, SourceResult, Vote
from domain.instruments import Instrument
from domain.market import BarSeries, Quote
from domain.pipeline import SignalContext
from domain.signals import Decision, Signal
from tests.factories import crypto, signal
from tests.fakes import anthropic_api, openai_api
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.server import Fault
from tests.strategies.bars import random_walk, series_from_closes

NOW = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 3, 2, tzinfo=UTC)
PRICES = {anthropic_api.MODEL: (3.0, 15.0), openai_api.MODEL: (0.15, 0.60)}  # USD per 1M tokens in, out
BTC = crypto("BTC/USD")
ETH = crypto("ETH/USD")
Spend = tuple[datetime, str, int, int, float]


def bars_closing_at(instrument: Instrument, newest_close: datetime, count: int, timeframe: int) -> BarSeries:
    """`count` bars of a random walk around 65 000 whose newest bar closes at `newest_close`."""
    start = newest_close - timedelta(seconds=timeframe * count)
    return series_from_closes(
        random_walk(timeframe, count, start=65_000.0),
        key=instrument.key,
        start=start.timestamp(),
        timeframe_seconds=timeframe,
        half_range=150.0,
    )


class Market:
    """Hourly bars closing at NOW and daily bars closing at midnight, for the instruments listed."""

    def __init__(self, *instruments: Instrument, daily: bool = True) -> None:
        self.series: dict[tuple[str, int], BarSeries] = {}
        for instrument in instruments:
            self.series[instrument.key, 3600] = bars_closing_at(instrument, NOW, 48, 3600)
            if daily:
                self.series[instrument.key, 86400] = bars_closing_at(instrument, MIDNIGHT, 30, 86400)

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        series = self.series.get((instrument.key, timeframe_seconds))
        return None if series is None else series.tail(count)

    async def quote(self, instrument: Instrument) -> Quote | None:
        when = NOW - timedelta(seconds=2)
        return Quote(instrument.key, Decimal("65010.5"), Decimal("65012.5"), when, "test")


def hub(market: Market | None = None, now: datetime = NOW) -> DataHub:
    market = market or Market(BTC, ETH)
    return DataHub(market.bars, market.quote, now)


def view_json(
    direction: str = "up",
    strength: float = 0.6,
    confidence: float = 0.7,
    *,
    horizon: str = "hours",
    reason: str = "higher highs on the hourly bars, daily trend up",
    data_quality: str = "ok",
) -> str:
    return json.dumps(
        {
            "direction": direction,
            "strength": strength,
            "confidence": confidence,
            "horizon": horizon,
            "reason": reason,
            "data_quality": data_quality,
        }
    )


def budget(max_tokens: int = 1_000_000) -> LlmBudget:
    return LlmBudget(max_tokens, 5.0, PRICES, "America/New_York")


def analyst(client: LlmClient, **overrides: Any) -> MarketAnalyst:
    options: dict[str, Any] = {"budget": budget()}
    options.update(overrides)
    return MarketAnalyst(client, options.pop("budget"), **options)


def claude_client(fake: FakeAnthropic, **overrides: Any) -> AnthropicLlm:
    return AnthropicLlm(anthropic_api.API_KEY, anthropic_api.MODEL, base_url=fake.url, **overrides)


def gpt_client(fake: FakeOpenAI, **overrides: Any) -> OpenAILlm:
    return OpenAILlm(openai_api.API_KEY, openai_api.MODEL, base_url=fake.url, **overrides)


def entry(instrument: Instrument = BTC) -> Signal:
    return signal(instrument, time=NOW)


def ask(source: MarketAnalyst, instrument: Instrument = BTC, market: Market | None = None) -> SourceResult:
    return asyncio.run(source.vote(entry(instrument), hub(market)))


def as_vote(result: SourceResult) -> Vote:
    assert isinstance(result, Vote), f"expected a vote, got {result}"
    return result


def as_abstention(result: SourceResult) -> Abstention:
    assert isinstance(result, Abstention), f"expected an abstention, got {result}"
    return result


def user_prompt_sent_to_claude(fake: FakeAnthropic, index: int = 0) -> str:
    content: str = fake.requests[index].body["messages"][0]["content"]
    return content


# the view becomes a vote


def test_anthropic_up_view_votes_plus_strength_with_the_models_confidence(claude: FakeAnthropic) -> None:
    claude.reply_text(view_json("up", strength=0.6, confidence=0.7), input_tokens=1000, output_tokens=200)
    spends: list[Spend] = []

    result = as_vote(ask(analyst(claude_client(claude), on_spend=lambda *spend: spends.append(spend))))

    assert (result.source, result.value, result.confidence) == ("market_analyst", 0.6, 0.7)
    assert result.as_of == NOW  # the newest hourly bar closes at NOW
    # 1000 x $3/1M + 200 x $15/1M = 0.003 + 0.003
    assert result.evidence == {
        "provider": "anthropic",
        "model": anthropic_api.MODEL,
        "prompt_version": "analyst-v1",
        "direction": "up",
        "strength": 0.6,
        "horizon": "hours",
        "reason": "higher highs on the hourly bars, daily trend up",
        "cached": False,
        "view_as_of": NOW.isoformat(),
        "cost_usd": pytest.approx(0.006),
    }
    [(at, model, tokens_in, tokens_out, cost)] = spends
    assert (at, model, tokens_in, tokens_out) == (NOW, anthropic_api.MODEL, 1000, 200)
    assert cost == pytest.approx(0.006)


def test_openai_up_view_votes_plus_strength_through_strict_structured_output(gpt: FakeOpenAI) -> None:
    gpt.reply_text(view_json("up", strength=0.4, confidence=0.55, horizon="days"))

    result = as_vote(ask(analyst(gpt_client(gpt))))

    assert (result.value, result.confidence) == (0.4, 0.55)
    assert result.evidence["provider"] == "openai"
    assert result.evidence["horizon"] == "days"
    # priced by the configured model although the API answered with its dated snapshot
    assert result.evidence["cost_usd"] == pytest.approx((850 * 0.15 + 60 * 0.60) / 1e6)
    sent = gpt.requests[0].body
    assert sent["response_format"]["json_schema"]["strict"] is True
    assert sent["response_format"]["json_schema"]["name"] == "analyst_view"
    assert set(sent["response_format"]["json_schema"]["schema"]["required"]) == {
        "direction",
        "strength",
        "confidence",
        "horizon",
        "reason",
        "data_quality",
    }


def test_down_view_votes_minus_strength(claude: FakeAnthropic) -> None:
    claude.reply_text(view_json("down", strength=0.8, confidence=0.9))

    result = as_vote(ask(analyst(claude_client(claude))))

    assert (result.value, result.confidence) == (-0.8, 0.9)


def test_neutral_view_votes_zero_whatever_the_strength(gpt: FakeOpenAI) -> None:
    gpt.reply_text(view_json("neutral", strength=0.3, confidence=0.5))

    result = as_vote(ask(analyst(gpt_client(gpt))))

    assert (result.value, result.confidence) == (0.0, 0.5)


def test_stale_data_quality_abstains_with_the_models_reason(claude: FakeAnthropic) -> None:
    claude.reply_text(view_json(data_quality="stale", reason="the newest daily bar is a week old"))

    result = as_abstention(ask(analyst(claude_client(claude))))

    assert result.reason == (
        "analysis of BTC/USD failed: the model judged the data stale: the newest daily bar is a week old"
    )


# answers that are not views


def test_malformed_answer_abstains_with_the_reason_and_is_still_paid_for(claude: FakeAnthropic) -> None:
    claude.reply_text("Bitcoin looks bullish to me!")
    spends: list[Spend] = []

    result = as_abstention(ask(analyst(claude_client(claude), on_spend=lambda *spend: spends.append(spend))))

    assert result.reason.startswith("analysis of BTC/USD failed: the answer is not JSON")
    assert [(tokens_in, tokens_out) for _, _, tokens_in, tokens_out, _ in spends] == [(850, 60)]


def test_answer_with_an_extra_field_abstains_naming_it(gpt: FakeOpenAI) -> None:
    gpt.reply_text(json.dumps({**json.loads(view_json()), "target_price": 70000}))

    result = as_abstention(ask(analyst(gpt_client(gpt))))

    assert "unexpected field 'target_price'" in result.reason


def test_anthropic_refusal_abstains(claude: FakeAnthropic) -> None:
    claude.reply_refusal()

    result = as_abstention(ask(analyst(claude_client(claude))))

    assert result.reason.startswith("analysis of BTC/USD failed: the model declined to answer")


def test_openai_refusal_abstains_quoting_the_model(gpt: FakeOpenAI) -> None:
    gpt.reply_refusal("I can't give financial advice.")

    result = as_abstention(ask(analyst(gpt_client(gpt))))

    assert "declined to answer" in result.reason
    assert "financial advice" in result.reason


def test_rate_limit_then_success_is_retried_by_the_sdk(claude: FakeAnthropic) -> None:
    claude.server.inject(
        Fault(status=429, retry_after="0", reason="rate limited", path_contains="/v1/messages")
    )
    claude.reply_text(view_json())

    result = ask(analyst(claude_client(claude)))

    assert as_vote(result).value == 0.6
    assert len(claude.requests) == 2


def test_answer_past_the_total_timeout_abstains(gpt: FakeOpenAI) -> None:
    gpt.server.inject(Fault(delay=1.0, path_contains="/chat/completions"))
    gpt.reply_text(view_json())

    result = as_abstention(ask(analyst(gpt_client(gpt), total_timeout_seconds=0.2, wait_seconds=1.0)))

    assert result.reason == "analysis of BTC/USD failed: no answer within 0.2 s"


def test_failure_is_remembered_for_the_failure_window_then_asked_again(claude: FakeAnthropic) -> None:
    claude.reply_error(500, "Internal server error")
    claude.reply_text(view_json())
    source = analyst(claude_client(claude, max_retries=0), failure_cache_minutes=5)

    async def scenario() -> list[SourceResult]:
        first = await source.vote(entry(), hub())
        within = await source.vote(entry(), hub(now=NOW + timedelta(minutes=4)))
        after = await source.vote(entry(), hub(now=NOW + timedelta(minutes=5)))
        return [first, within, after]

    first, within, after = asyncio.run(scenario())

    reason = "analysis of BTC/USD failed: anthropic server error (500): Internal server error"
    assert as_abstention(first).reason == reason
    assert as_abstention(within).reason == reason
    assert as_vote(after).value == 0.6
    assert len(claude.requests) == 2


# latency, single flight and the cache


def test_slow_answer_is_pending_then_serves_the_next_vote_from_the_cache(claude: FakeAnthropic) -> None:
    claude.server.inject(Fault(delay=0.5, path_contains="/v1/messages"))
    claude.reply_text(view_json("down", strength=0.5))
    source = analyst(claude_client(claude), wait_seconds=0.1)

    async def scenario() -> tuple[SourceResult, SourceResult]:
        first = await source.vote(entry(), hub())
        assert source.in_flight == 1
        await source.wait_for_analyses()
        second = await source.vote(entry(), hub(now=NOW + timedelta(seconds=30)))
        return first, second

    first, second = asyncio.run(scenario())

    assert as_abstention(first).reason == "analysis of BTC/USD pending"
    cached = as_vote(second)
    assert cached.value == -0.5
    assert (cached.evidence["cached"], cached.evidence["cost_usd"]) == (True, 0.0)
    assert cached.evidence["view_as_of"] == NOW.isoformat()  # when the view was made, not asked for
    assert len(claude.requests) == 1


def test_call_survives_the_ensemble_cancelling_the_vote(claude: FakeAnthropic) -> None:
    claude.server.inject(Fault(delay=0.5, path_contains="/v1/messages"))
    claude.reply_text(view_json("up", strength=0.9, confidence=0.8))
    source = analyst(claude_client(claude), wait_seconds=5.0)  # longer than the ensemble waits
    settings = EnsembleSettings(weights={"market_analyst": 1.0}, threshold=0.1, source_timeout_seconds=0.1)
    stage = EnsembleStage([source], settings, lambda: hub())

    async def scenario() -> tuple[Decision, Decision]:
        first = await stage.evaluate(entry(), SignalContext(now=NOW))
        await source.wait_for_analyses()
        second = await stage.evaluate(entry(), SignalContext(now=NOW))
        return first, second

    first, second = asyncio.run(scenario())

    [abstained] = first.details["ensemble"]["sources"]
    assert abstained == {"source": "market_analyst", "abstained": "no answer within 0.1 s"}
    assert second.passed
    [voted] = second.details["ensemble"]["sources"]
    assert (voted["vote"], voted["evidence"]["cached"]) == (0.9, True)
    assert len(claude.requests) == 1


def test_closing_cancels_the_call_and_the_waiting_vote_abstains(claude: FakeAnthropic) -> None:
    claude.server.inject(Fault(delay=0.5, path_contains="/v1/messages"))
    claude.reply_text(view_json())
    source = analyst(claude_client(claude), wait_seconds=5.0)

    async def scenario() -> SourceResult:
        voting = asyncio.create_task(source.vote(entry(), hub()))
        await asyncio.sleep(0.2)  # the request is at the fake, whose answer takes 0.5 s
        await source.close()
        assert source.in_flight == 0
        return await voting

    result = as_abstention(asyncio.run(scenario()))

    assert result.reason == "analysis of BTC/USD cancelled: the analyst is closing"


def test_concurrent_votes_on_one_market_make_one_request(claude: FakeAnthropic) -> None:
    claude.reply_text(view_json())
    source = analyst(claude_client(claude))

    async def scenario() -> list[SourceResult]:
        return list(await asyncio.gather(*(source.vote(entry(), hub()) for _ in range(3))))

    results = [as_vote(result) for result in asyncio.run(scenario())]

    assert [result.value for result in results] == [0.6, 0.6, 0.6]
    assert sorted(result.evidence["cached"] for result in results) == [False, True, True]
    assert len(claude.requests) == 1


def test_another_market_makes_its_own_request(claude: FakeAnthropic) -> None:
    claude.reply_text(view_json("up", strength=0.6))
    claude.reply_text(view_json("down", strength=0.3))
    source = analyst(claude_client(claude))

    async def scenario() -> list[SourceResult]:
        return [await source.vote(entry(BTC), hub()), await source.vote(entry(ETH), hub())]

    btc, eth = asyncio.run(scenario())

    assert (as_vote(btc).value, as_vote(eth).value) == (0.6, -0.3)
    assert len(claude.requests) == 2
    assert "Instrument: ETH/USD (crypto)" in user_prompt_sent_to_claude(claude, 1)


def test_view_expires_after_cache_minutes(claude: FakeAnthropic) -> None:
    claude.reply_text(view_json("up", strength=0.6))
    claude.reply_text(view_json("down", strength=0.2))
    source = analyst(claude_client(claude), cache_minutes=30)

    async def scenario() -> list[SourceResult]:
        return [
            await source.vote(entry(), hub(now=now))
            for now in (NOW, NOW + timedelta(minutes=29), NOW + timedelta(minutes=30))
        ]

    first, within, after = (as_vote(result) for result in asyncio.run(scenario()))

    assert (first.value, within.value, after.value) == (0.6, 0.6, -0.2)
    assert (within.evidence["cached"], after.evidence["cached"]) == (True, False)
    assert after.evidence["view_as_of"] == (NOW + timedelta(minutes=30)).isoformat()
    assert len(claude.requests) == 2


# no call at all


def test_spent_budget_abstains_without_a_request(claude: FakeAnthropic) -> None:
    ledger = budget(max_tokens=1000)
    ledger.record(NOW, anthropic_api.MODEL, 900, 100)

    result = as_abstention(ask(analyst(claude_client(claude), budget=ledger)))

    assert result.reason == "daily LLM budget spent (1000 tokens, $0.0042 today)"
    assert claude.requests == []


def test_market_without_bars_abstains_without_a_request(claude: FakeAnthropic) -> None:
    spends: list[Spend] = []

    result = as_abstention(
        ask(analyst(claude_client(claude), on_spend=lambda *spend: spends.append(spend)), market=Market(ETH))
    )

    assert result.reason == "no hourly or daily bars for BTC/USD; nothing to analyse"
    assert claude.requests == []
    assert spends == []


def test_a_model_with_no_price_is_refused_at_construction(claude: FakeAnthropic) -> None:
    client = AnthropicLlm(anthropic_api.API_KEY, "claude-unpriced", base_url=claude.url)

    with pytest.raises(ValueError, match="no price for model 'claude-unpriced'"):
        analyst(client)


# the prompt


def test_prompt_sent_carries_the_bar_times_quote_and_headlines(claude: FakeAnthropic) -> None:
    claude.reply_text(view_json())
    headlines = [
        (NOW - timedelta(hours=3), "ETF inflows hit a monthly high", 0.6),
        (NOW - timedelta(minutes=20), "Exchange halts withdrawals\nafter hack", -0.8),
    ]
    source = analyst(claude_client(claude), headlines=lambda instrument: headlines)

    result = as_vote(ask(source))

    user = user_prompt_sent_to_claude(claude)
    assert "You are a market analyst" in claude.requests[0].body["system"]
    assert "Instrument: BTC/USD (crypto)" in user
    assert "Now: 2026-03-02 17:00 UTC" in user
    assert "Hourly bars (48, oldest first; the newest closed 2026-03-02 17:00 UTC, 0 s before now)" in user
    assert "\n02-28 18:00 " in user  # the oldest hourly bar's close
    assert "\n03-02 17:00 " in user
    assert "Daily bars (30, oldest first; the newest closed 2026-03-02 00:00 UTC, 17.0 h before now)" in user
    assert "\n02-01 00:00 " in user  # the oldest daily bar's close
    assert "bid 65010.5, ask 65012.5 (spread 2.0) at 2026-03-02 16:59 UTC, 2 s before now" in user
    newest_first = (
        "- 2026-03-02 16:40 UTC (20 min before now; sentiment -0.80): Exchange halts withdrawals after hack\n"
        "- 2026-03-02 14:00 UTC (3.0 h before now; sentiment +0.60): ETF inflows hit a monthly high"
    )
    assert newest_first in user
    assert '"enum": ["up", "down", "neutral"]' in user
    assert result.evidence["prompt_version"] == PROMPT_VERSION == "analyst-v1"


def test_prompt_without_daily_bars_says_so_and_still_asks() -> None:
    market = Market(BTC, daily=False)
    evidence = MarketEvidence(BTC, NOW, {3600: market.series[BTC.key, 3600]}, None)

    _, user = render_prompt(evidence)

    assert "Daily bars: none available" in user
    assert "Latest quote:\nnone available" in user
    assert "headlines (newest first; sentiment from -1 bearish to +1 bullish):\nnone available" in user


def test_prompt_with_full_evidence_stays_under_three_thousand_tokens() -> None:
    market = Market(BTC)
    headlines: Sequence[tuple[datetime, str, float]] = [
        (NOW - timedelta(minutes=10 * i), "word " * 100, 0.1) for i in range(25)
    ]
    evidence = MarketEvidence(
        BTC,
        NOW,
        {3600: market.series[BTC.key, 3600], 86400: market.series[BTC.key, 86400]},
        None,
        tuple(headlines),
    )

    system, user = render_prompt(evidence)

    # numbers tokenise at about three characters a token, English at four: a generous bound
    assert (len(system) + len(user)) / 3 < 3000
    assert user.count("sentiment +0.10") == 10  # only the ten newest headlines


def test_both_prompts_load_through_one_loader() -> None:
    from ai.market_analyst import TEMPLATE_PATH as ANALYST_TEMPLATE

    assert load_template(TEMPLATE_PATH).version == "veto-v1"
    assert load_template(ANALYST_TEMPLATE).version == "analyst-v1"


# secrets


def test_api_key_never_appears_in_evidence_reasons_or_logs(
    claude: FakeAnthropic, gpt: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    claude.reply_text(view_json())
    claude.reply_text("not json")
    gpt.reply_text(view_json("down"))
    wrong_key = AnthropicLlm(anthropic_api.API_KEY + "-wrong", anthropic_api.MODEL, base_url=claude.url)

    async def scenario() -> list[SourceResult]:
        return [
            await analyst(claude_client(claude)).vote(entry(BTC), hub()),
            await analyst(claude_client(claude)).vote(entry(ETH), hub()),
            await analyst(gpt_client(gpt)).vote(entry(BTC), hub()),
            await analyst(wrong_key).vote(entry(BTC), hub()),
        ]

    results = asyncio.run(scenario())

    assert as_abstention(results[-1]).reason == (
        "analysis of BTC/USD failed: anthropic refused the request (401): invalid x-api-key"
    )
    assert caplog.records, "expected the SDKs and the source to log something at DEBUG"
    for record in caplog.records:
        assert "KEY-do-not-log" not in record.getMessage(), f"{record.name} logged a key"
    for result in results:
        assert "KEY-do-not-log" not in json.dumps(result.to_dict())


# parse_view


def test_parse_view_unwraps_a_json_fence() -> None:
    view = parse_view("```json\n" + view_json("down", 0.25) + "\n```")

    assert (view.direction, view.strength, view.signed_strength) == ("down", 0.25, -0.25)


def test_parse_view_refuses_prose_around_the_json() -> None:
    with pytest.raises(MalformedAnswer, match="not JSON"):
        parse_view("My view: " + view_json())


def test_parse_view_refuses_a_strength_above_one_and_an_unknown_horizon() -> None:
    with pytest.raises(MalformedAnswer, match="bad value for 'strength'"):
        parse_view(view_json(strength=1.2))
    with pytest.raises(MalformedAnswer, match="bad value for 'horizon'"):
        parse_view(view_json(horizon="months"))
