"""The Veto stage with an LLM: the model reviews each entry with its evidence and answers in
the verdict schema.

One call per entry, bounded three ways: a daily budget (tokens and dollars), a cache of
recent verdicts, and a total timeout around the whole call (the SDK's own timeout is per
attempt; with retries and a long Retry-After the total could otherwise grow without bound).
When no usable verdict comes (malformed, late, refused, budget spent) the configured
`on_failure` policy decides, veto by default, and the details record which of these it was.
Exits are never vetoed: a veto that kept a position open would be a risk of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from ai.llm.budget import LlmBudget
from ai.llm.cache import VerdictCache, cache_key
from ai.llm.clients import LlmAnswer, LlmClient, LlmUnavailable
from ai.llm.prompt import PROMPT_VERSION, render
from ai.llm.verdict import VERDICT_SCHEMA, LlmVerdict, MalformedAnswer, parse_verdict
from ai.veto_layer import ScheduledEvent
from domain.pipeline import SignalContext
from domain.signals import Decision, ReasonCode, Signal, SignalIntent

log = logging.getLogger(__name__)

Policy = Literal["veto", "approve"]
# on_spend(now, model, tokens_in, tokens_out, cost_usd): the daemon journals spend through this
SpendCallback = Callable[[datetime, str, int, int, float], None]


class LlmVeto:
    name = "veto_llm"

    def __init__(
        self,
        client: LlmClient,
        budget: LlmBudget,
        cache: VerdictCache[LlmVerdict],
        *,
        total_timeout_seconds: float = 30.0,
        on_failure: Policy = "veto",
        events: Sequence[ScheduledEvent] = (),
        event_lookback: timedelta = timedelta(hours=1),
        event_horizon: timedelta = timedelta(hours=24),
        on_spend: SpendCallback | None = None,
    ) -> None:
        if not total_timeout_seconds > 0:
            raise ValueError(f"LLM veto total_timeout_seconds must be > 0, got {total_timeout_seconds!r}")
        if on_failure not in ("veto", "approve"):
            raise ValueError(f"LLM veto on_failure must be 'veto' or 'approve', got {on_failure!r}")
        budget.require_price(client.model)  # an unpriced model would spend outside the budget
        self._client = client
        self._budget = budget
        self._cache = cache
        self._total_timeout = total_timeout_seconds
        self._on_failure: Policy = on_failure
        self._events = tuple(events)
        self._lookback = event_lookback
        self._horizon = event_horizon
        self._on_spend = on_spend

    async def evaluate(self, signal: Signal, ctx: SignalContext) -> Decision:
        if signal.intent is SignalIntent.CLOSE:
            return Decision.accept(self.name, "exits are never vetoed")
        now = ctx.now
        system, user = render(signal, now, self._upcoming(signal, now))
        key = cache_key(self._client.model, PROMPT_VERSION, user)
        cached = self._cache.get(key, now)
        # The cache comes before the budget: a remembered verdict costs nothing.
        if cached is not None:
            return self._from_verdict(cached, self._details("cached_" + _outcome(cached)), cached=True)
        if not self._budget.allows(now):
            tokens, usd = self._budget.spent(now)
            why = f"daily LLM budget spent ({tokens} tokens, ${usd:.4f} today)"
            return self._by_policy("budget_spent", why, self._details("budget_spent"))

        started = time.monotonic()
        try:
            answer = await asyncio.wait_for(
                self._client.complete(system, user, VERDICT_SCHEMA), self._total_timeout
            )
        except TimeoutError:
            details = self._details("late", latency_ms=_since(started))
            return self._by_policy("late", f"no answer within {self._total_timeout:g} s", details)
        except LlmUnavailable as error:
            details = self._details("late", latency_ms=_since(started), error=error.reason)
            return self._by_policy("late", error.reason, details)
        latency_ms = _since(started)
        cost = self._spend(now, answer)

        if answer.refused:
            details = self._details("refused", answer=answer, cost_usd=cost, latency_ms=latency_ms)
            return self._by_policy("refused", f"the model declined to answer: {answer.text[:200]!r}", details)
        try:
            verdict = parse_verdict(answer.text)
        except MalformedAnswer as error:
            details = self._details(
                "malformed", answer=answer, cost_usd=cost, latency_ms=latency_ms, error=str(error)
            )
            return self._by_policy("malformed", str(error), details)
        self._cache.put(key, verdict, now)
        details = self._details(_outcome(verdict), answer=answer, cost_usd=cost, latency_ms=latency_ms)
        return self._from_verdict(verdict, details)

    def _upcoming(self, signal: Signal, now: datetime) -> list[ScheduledEvent]:
        """Events for this instrument from `event_lookback` ago (one just past still moves prices)
        to `event_horizon` ahead."""
        return [
            event
            for event in self._events
            if event.concerns(signal.instrument) and now - self._lookback <= event.time <= now + self._horizon
        ]

    def _spend(self, now: datetime, answer: LlmAnswer) -> float:
        # priced by the configured model: a provider may answer with a dated alias of it
        model = self._client.model
        cost = self._budget.record(now, model, answer.input_tokens, answer.output_tokens)
        if self._on_spend is not None:
            self._on_spend(now, model, answer.input_tokens, answer.output_tokens, cost)
        return cost

    def _details(
        self,
        outcome: str,
        *,
        answer: LlmAnswer | None = None,
        cost_usd: float = 0.0,
        latency_ms: float | None = None,
        error: str | None = None,
    ) -> dict[str, Any]:
        llm: dict[str, Any] = {
            "provider": self._client.provider,
            "model": self._client.model,
            "prompt_version": PROMPT_VERSION,
            "outcome": outcome,
            "tokens_in": answer.input_tokens if answer is not None else 0,
            "tokens_out": answer.output_tokens if answer is not None else 0,
            "cost_usd": round(cost_usd, 8),
            "latency_ms": latency_ms,
        }
        if error is not None:
            llm["error"] = error
        return {"llm": llm}

    def _from_verdict(self, verdict: LlmVerdict, details: dict[str, Any], cached: bool = False) -> Decision:
        details["llm"]["verdict"] = verdict.model_dump()
        source = "LLM (cached verdict)" if cached else "LLM"
        log.info("%s %s %s: %s", self.name, details["llm"]["outcome"], verdict.category, verdict.reason)
        if verdict.decision == "veto":
            return Decision.reject(
                self.name, ReasonCode.VETOED, f"{source} veto ({verdict.category}): {verdict.reason}", details
            )
        return Decision.accept(
            self.name,
            f"{source} approved ({verdict.category}): {verdict.reason}",
            confidence=verdict.confidence,
            details=details,
        )

    def _by_policy(self, outcome: str, why: str, details: dict[str, Any]) -> Decision:
        details["llm"]["policy"] = self._on_failure
        policy = self._on_failure
        log.warning("%s: no usable LLM verdict (%s: %s); policy %s", self.name, outcome, why, policy)
        if self._on_failure == "veto":
            return Decision.reject(
                self.name, ReasonCode.VETOED, f"LLM veto by policy, answer {outcome}: {why}", details
            )
        return Decision.accept(self.name, f"approved by policy, LLM answer {outcome}: {why}", details=details)


def _outcome(verdict: LlmVerdict) -> str:
    return "approved" if verdict.decision == "approve" else "vetoed"


def _since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
