"""The LLM veto end to end: the real Anthropic and OpenAI SDKs over HTTP to local fakes of their
APIs, plus the pure parts (verdict parsing, the daily budget, the cache, the prompt)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ai.llm import (
    PROMPT_VERSION,
    AnthropicLlm,
    LlmBudget,
    LlmClient,
    LlmVeto,
    MalformedAnswer,
    OpenAILlm,
    VerdictCache,
    parse_verdict,
    render,
)
from ai.llm.cache import cache_key
from ai.veto_layer import ScheduledEvent
from domain.pipeline import SignalContext
from domain.signals import Decision, ReasonCode, Signal, SignalIntent
from tests.factories import signal
from tests.fakes import anthropic_api, openai_api
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.server import Fault

NOW = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # Monday 12:00 New York
PRICES = {anthropic_api.MODEL: (3.0, 15.0), openai_api.MODEL: (0.15, 0.60)}  # USD per 1M tokens in, out


def verdict_json(
    decision: str = "approve", category: str = "none", reason: str = "", confidence: float = 0.8
) -> str:
    reason = reason or ("evidence is fresh and consistent" if decision == "approve" else "quote is stale")
    return json.dumps(
        {"decision": decision, "category": category, "reason": reason, "confidence": confidence}
    )


def entry(**evidence: object) -> Signal:
    return signal(
        time=NOW - timedelta(seconds=5), evidence={"quote_at": NOW.isoformat(), "rsi": 31, **evidence}
    )


def budget(
    max_tokens: int = 1_000_000, max_usd: float = 5.0, timezone: str = "America/New_York"
) -> LlmBudget:
    return LlmBudget(max_tokens, max_usd, PRICES, timezone)


def stage(client: LlmClient, **overrides: Any) -> LlmVeto:
    options: dict[str, Any] = {"budget": budget(), "cache": VerdictCache(ttl_seconds=300)}
    options.update(overrides)
    return LlmVeto(client, options.pop("budget"), options.pop("cache"), **options)


def claude_client(fake: FakeAnthropic, **overrides: Any) -> AnthropicLlm:
    return AnthropicLlm(anthropic_api.API_KEY, anthropic_api.MODEL, base_url=fake.url, **overrides)


def gpt_client(fake: FakeOpenAI, **overrides: Any) -> OpenAILlm:
    return OpenAILlm(openai_api.API_KEY, openai_api.MODEL, base_url=fake.url, **overrides)


async def evaluate_all(veto: LlmVeto, *signals: Signal, now: datetime = NOW) -> list[Decision]:
    """Every evaluation on one event loop, as in the daemon (the SDK's connection pool is bound to it)."""
    return [await veto.evaluate(sig, SignalContext(now=now)) for sig in signals]


def evaluate(veto: LlmVeto, sig: Signal, now: datetime = NOW) -> Decision:
    return asyncio.run(evaluate_all(veto, sig, now=now))[0]


def llm(decision: Decision) -> dict[str, Any]:
    details: dict[str, Any] = decision.details["llm"]
    return details


# end to end, through the SDKs


def test_anthropic_approval_passes_with_the_models_confidence(claude: FakeAnthropic) -> None:
    claude.reply_text(verdict_json("approve", confidence=0.82))

    decision = evaluate(stage(claude_client(claude)), entry())

    assert decision.passed
    assert decision.confidence == 0.82
    assert llm(decision)["outcome"] == "approved"
    assert llm(decision)["provider"] == "anthropic"
    assert (llm(decision)["tokens_in"], llm(decision)["tokens_out"]) == (850, 60)
    sent = claude.requests[0].body
    assert sent["model"] == anthropic_api.MODEL and sent["max_tokens"] == 400
    assert "You are the last check" in sent["system"]
    assert '"rsi": 31' in sent["messages"][0]["content"]
    # the installed SDK (2.10.0) sends `api_key` as a Bearer token, not in x-api-key
    assert claude.auth_headers_seen == ["authorization"]


def test_openai_approval_passes_with_the_models_confidence(gpt: FakeOpenAI) -> None:
    gpt.reply_text(verdict_json("approve", confidence=0.7))

    decision = evaluate(stage(gpt_client(gpt)), entry())

    assert decision.passed
    assert decision.confidence == 0.7
    assert llm(decision)["outcome"] == "approved"
    assert llm(decision)["provider"] == "openai"
    # priced by the configured model although the API answered with its dated snapshot
    assert llm(decision)["cost_usd"] == pytest.approx((850 * 0.15 + 60 * 0.60) / 1e6)
    sent = gpt.requests[0].body
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert sent["response_format"]["json_schema"]["name"] == "llm_verdict"
    assert sent["response_format"]["json_schema"]["strict"] is True


def test_veto_names_its_category_and_reason_in_the_message(claude: FakeAnthropic) -> None:
    claude.reply_text(verdict_json("veto", "stale_data", "quote_at is two hours old", 0.9))

    decision = evaluate(stage(claude_client(claude)), entry())

    assert not decision.passed
    assert decision.reason_code is ReasonCode.VETOED
    assert decision.message == "LLM veto (stale_data): quote_at is two hours old"
    assert llm(decision)["outcome"] == "vetoed"
    assert llm(decision)["verdict"]["category"] == "stale_data"


def test_openai_veto_names_its_category(gpt: FakeOpenAI) -> None:
    gpt.reply_text(verdict_json("veto", "event_timing", "FOMC in 10 minutes", 0.9))

    decision = evaluate(stage(gpt_client(gpt)), entry())

    assert not decision.passed
    assert decision.message == "LLM veto (event_timing): FOMC in 10 minutes"


def test_malformed_answer_is_vetoed_by_policy_and_recorded_as_malformed(claude: FakeAnthropic) -> None:
    claude.reply_text("Looks fine to me, go ahead!")

    decision = evaluate(stage(claude_client(claude)), entry())

    assert not decision.passed
    assert decision.reason_code is ReasonCode.VETOED
    assert "answer malformed" in decision.message
    assert llm(decision)["outcome"] == "malformed"
    assert "not JSON" in llm(decision)["error"]
    assert llm(decision)["tokens_out"] == 60  # a malformed answer is still paid for


def test_malformed_answer_passes_when_the_policy_is_approve(claude: FakeAnthropic) -> None:
    claude.reply_text('{"decision": "approve"}')

    decision = evaluate(stage(claude_client(claude), on_failure="approve"), entry())

    assert decision.passed
    assert llm(decision)["outcome"] == "malformed"
    assert llm(decision)["policy"] == "approve"
    assert "missing field 'category'" in llm(decision)["error"]


def test_anthropic_refusal_is_vetoed_by_policy_and_recorded_as_refused(claude: FakeAnthropic) -> None:
    claude.reply_refusal()

    decision = evaluate(stage(claude_client(claude)), entry())

    assert not decision.passed
    assert llm(decision)["outcome"] == "refused"


def test_openai_refusal_is_vetoed_by_policy_and_recorded_as_refused(gpt: FakeOpenAI) -> None:
    gpt.reply_refusal("I'm sorry, I can't help with that.")

    decision = evaluate(stage(gpt_client(gpt)), entry())

    assert not decision.passed
    assert llm(decision)["outcome"] == "refused"
    assert "can't help" in decision.message


def test_answer_slower_than_the_client_timeout_is_late(claude: FakeAnthropic) -> None:
    claude.server.inject(Fault(delay=1.0, path_contains="/v1/messages"))
    claude.reply_text(verdict_json())

    decision = evaluate(stage(claude_client(claude, timeout_seconds=0.3, max_retries=0)), entry())

    assert not decision.passed
    assert llm(decision)["outcome"] == "late"
    assert "timed out" in llm(decision)["error"]
    assert llm(decision)["latency_ms"] < 900


def test_answer_slower_than_the_total_timeout_is_late(gpt: FakeOpenAI) -> None:
    gpt.server.inject(Fault(delay=1.0, path_contains="/chat/completions"))
    gpt.reply_text(verdict_json())

    decision = evaluate(stage(gpt_client(gpt), total_timeout_seconds=0.3), entry())

    assert not decision.passed
    assert llm(decision)["outcome"] == "late"
    assert "no answer within 0.3 s" in decision.message


def test_rate_limit_with_retry_after_is_retried_by_the_sdk(claude: FakeAnthropic) -> None:
    claude.server.inject(
        Fault(status=429, retry_after="0", reason="rate limited", path_contains="/v1/messages")
    )
    claude.reply_text(verdict_json())

    decision = evaluate(stage(claude_client(claude)), entry())

    assert decision.passed
    assert len(claude.requests) == 2


def test_openai_rate_limit_is_retried_by_the_sdk(gpt: FakeOpenAI) -> None:
    gpt.server.inject(
        Fault(status=429, retry_after="0", reason="rate limited", path_contains="/chat/completions")
    )
    gpt.reply_text(verdict_json())

    decision = evaluate(stage(gpt_client(gpt)), entry())

    assert decision.passed
    assert len(gpt.requests) == 2


def test_server_errors_past_the_retries_are_late_with_the_providers_message(claude: FakeAnthropic) -> None:
    claude.server.inject(Fault(status=529, reason="Overloaded", path_contains="/v1/messages", times=2))

    decision = evaluate(stage(claude_client(claude, max_retries=1)), entry())

    assert not decision.passed
    assert llm(decision)["outcome"] == "late"
    assert llm(decision)["error"] == "anthropic server error (529): Overloaded"
    assert len(claude.requests) == 2


def test_spent_budget_stops_calls_before_they_reach_the_provider(claude: FakeAnthropic) -> None:
    claude.reply_text(verdict_json(), input_tokens=900, output_tokens=100)
    veto = stage(claude_client(claude), budget=budget(max_tokens=1000))

    first, second = asyncio.run(evaluate_all(veto, entry(), entry(rsi=29)))

    assert first.passed
    assert not second.passed
    assert llm(second)["outcome"] == "budget_spent"
    assert "1000 tokens" in second.message
    assert len(claude.requests) == 1


def test_same_evidence_is_answered_from_the_cache_without_a_second_request(claude: FakeAnthropic) -> None:
    claude.reply_text(verdict_json("veto", "contradiction", "buy against a falling RSI", 0.7))
    veto = stage(claude_client(claude))

    first, second = asyncio.run(evaluate_all(veto, entry(), entry()))

    assert llm(first)["outcome"] == "vetoed"
    assert llm(second)["outcome"] == "cached_vetoed"
    assert "cached" in second.message
    assert llm(second)["cost_usd"] == 0
    assert len(claude.requests) == 1


def test_spend_is_reported_to_the_callback_at_the_models_price(claude: FakeAnthropic) -> None:
    claude.reply_text(verdict_json(), input_tokens=1000, output_tokens=200)
    spends: list[tuple[datetime, str, int, int, float]] = []
    veto = stage(claude_client(claude), on_spend=lambda *spend: spends.append(spend))

    evaluate(veto, entry())

    # 1000 x $3/1M + 200 x $15/1M = 0.003 + 0.003
    [(at, model, tokens_in, tokens_out, cost)] = spends
    assert (at, model, tokens_in, tokens_out) == (NOW, anthropic_api.MODEL, 1000, 200)
    assert cost == pytest.approx(0.006)


def test_prompt_version_is_in_the_details(gpt: FakeOpenAI) -> None:
    gpt.reply_text(verdict_json())

    decision = evaluate(stage(gpt_client(gpt)), entry())

    assert llm(decision)["prompt_version"] == PROMPT_VERSION == "veto-v1"
    assert llm(decision)["model"] == openai_api.MODEL


def test_exit_passes_without_asking_the_model(claude: FakeAnthropic) -> None:
    decision = evaluate(stage(claude_client(claude)), signal(intent=SignalIntent.CLOSE, time=NOW))

    assert decision.passed
    assert claude.requests == []


def test_api_key_never_appears_in_a_log_line(
    claude: FakeAnthropic, gpt: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    claude.reply_text(verdict_json())
    claude.reply_text("not json")
    gpt.reply_text(verdict_json("veto", "risk", "no stop", 0.6))
    wrong_key = AnthropicLlm(anthropic_api.API_KEY + "-wrong", anthropic_api.MODEL, base_url=claude.url)

    async def scenario() -> list[Decision]:
        decisions = await evaluate_all(stage(claude_client(claude)), entry(), entry(rsi=1))
        decisions += await evaluate_all(stage(gpt_client(gpt)), entry())
        decisions += await evaluate_all(stage(wrong_key), entry())
        return decisions

    decisions = asyncio.run(scenario())

    assert llm(decisions[-1])["error"] == "anthropic refused the request (401): invalid x-api-key"
    assert caplog.records, "expected the SDKs and the stage to log something at DEBUG"
    for record in caplog.records:
        line = record.getMessage()
        assert "KEY-do-not-log" not in line, f"{record.name} logged a key: {line[:200]}"
    for decision in decisions:
        assert "KEY-do-not-log" not in json.dumps(decision.details) + decision.message


# construction


def test_a_model_with_no_price_is_refused_at_construction(claude: FakeAnthropic) -> None:
    client = AnthropicLlm(anthropic_api.API_KEY, "claude-unpriced", base_url=claude.url)

    with pytest.raises(ValueError, match="no price for model 'claude-unpriced'"):
        stage(client)


# parse_verdict


def test_parse_verdict_reads_a_plain_json_answer() -> None:
    verdict = parse_verdict(verdict_json("veto", "risk", "no stop on a leveraged entry", 0.75))

    assert (verdict.decision, verdict.category, verdict.confidence) == ("veto", "risk", 0.75)


def test_parse_verdict_unwraps_a_json_fence() -> None:
    verdict = parse_verdict("```json\n" + verdict_json() + "\n```")

    assert verdict.decision == "approve"


def test_parse_verdict_refuses_prose_around_the_json() -> None:
    with pytest.raises(MalformedAnswer, match="not JSON"):
        parse_verdict("Here is my verdict: " + verdict_json())


def test_parse_verdict_names_a_missing_field() -> None:
    with pytest.raises(MalformedAnswer, match="missing field 'confidence'"):
        parse_verdict('{"decision": "veto", "category": "risk", "reason": "x"}')


def test_parse_verdict_names_a_bad_value() -> None:
    with pytest.raises(MalformedAnswer, match="bad value for 'category'"):
        parse_verdict(verdict_json(category="vibes"))


def test_parse_verdict_refuses_a_confidence_above_one() -> None:
    with pytest.raises(MalformedAnswer, match="bad value for 'confidence'"):
        parse_verdict(verdict_json(confidence=1.5))


def test_parse_verdict_refuses_an_empty_reason_and_an_array() -> None:
    with pytest.raises(MalformedAnswer, match="bad value for 'reason'"):
        parse_verdict(json.dumps({"decision": "veto", "category": "risk", "reason": "", "confidence": 0.5}))
    with pytest.raises(MalformedAnswer, match="not an object"):
        parse_verdict("[]")


# budget


def test_budget_resets_at_local_midnight_not_at_utc_midnight() -> None:
    ledger = budget(max_tokens=1000)
    late_evening = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # 18:30 New York
    after_utc_midnight = datetime(2026, 3, 3, 4, 59, tzinfo=UTC)  # 23:59 New York, same local day
    after_local_midnight = datetime(2026, 3, 3, 5, 1, tzinfo=UTC)  # 00:01 New York

    ledger.record(late_evening, anthropic_api.MODEL, 900, 100)

    assert not ledger.allows(after_utc_midnight)
    tokens, usd = ledger.spent(after_utc_midnight)
    assert tokens == 1000
    assert usd == pytest.approx(0.0042)  # 900 x $3/1M + 100 x $15/1M
    assert ledger.allows(after_local_midnight)
    assert ledger.spent(after_local_midnight) == (0, 0.0)


def test_budget_stops_at_the_dollar_ceiling() -> None:
    ledger = budget(max_usd=0.01)

    cost = ledger.record(NOW, anthropic_api.MODEL, 2000, 300)  # 0.006 + 0.0045

    assert cost == pytest.approx(0.0105)
    assert not ledger.allows(NOW)


def test_budget_refuses_to_record_an_unpriced_model() -> None:
    with pytest.raises(ValueError, match="no price"):
        budget().record(NOW, "gpt-unknown", 1, 1)


# cache and prompt


def test_cache_drops_a_verdict_after_its_ttl() -> None:
    cache = VerdictCache(ttl_seconds=60)
    key = cache_key("m", PROMPT_VERSION, "prompt")
    cache.put(key, parse_verdict(verdict_json()), NOW)

    assert cache.get(key, NOW + timedelta(seconds=59)) is not None
    assert cache.get(key, NOW + timedelta(seconds=60)) is None
    assert len(cache) == 0


def test_prompt_carries_timestamps_now_events_and_the_schema() -> None:
    fomc = ScheduledEvent("FOMC", NOW + timedelta(minutes=20))
    sig = entry(bars_as_of="2026-03-02T16:00:00+00:00")

    system, user = render(sig, NOW, [fomc])

    assert "stale_data" in system and "---" not in system
    assert '"bars_as_of": "2026-03-02T16:00:00+00:00"' in user
    assert f"Now: {NOW.isoformat()}" in user
    assert '"name": "FOMC"' in user
    assert '"enum": ["approve", "veto"]' in user
    assert "Answer ONLY" in user
