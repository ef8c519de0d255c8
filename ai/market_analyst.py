"""The market analyst: an ensemble source that asks the configured LLM which way a market is going.

The view is of the market, not of the signal: it is keyed by (instrument, model, prompt
version) and remembered for `cache_minutes`, so fifty bots asking about BTC/USD within that
time pay for one call. Concurrent requests for one market share one call (one task per key).

The ensemble gives a source two seconds and then cancels it; an LLM answers in several. So
`vote()` starts the call as a task of its own (or joins the one running), waits for it at
most `wait_seconds`, through `asyncio.shield`, and abstains ("analysis of BTC/USD pending")
when it is not done: the call goes on, whether `vote()` gave up or was cancelled, and its
view serves the next signal on that market. A call that fails (no answer, refused,
malformed, the model judging its data stale) is remembered for `failure_cache_minutes`,
so a failing provider is not asked again at every signal; the abstention says why.

Evidence for the model (`ai.analyst_evidence`, rendered by `ai/prompts/analyst_v1.md`):
the last 48 hourly and 30 daily bars, the latest quote, and the recent headlines with their
sentiment when a feed is given. Calls share the veto's daily
`LlmBudget`, and every answered call is priced and reported through `on_spend`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ai.analyst_evidence import (
    PROMPT_VERSION,
    TEMPLATE_PATH,
    HeadlinesFeed,
    MarketEvidence,
    gather_evidence,
    render_prompt,
)
from ai.data_hub import DataHub
from ai.llm.analyst_view import VIEW_SCHEMA, AnalystView, parse_view
from ai.llm.budget import LlmBudget
from ai.llm.cache import VerdictCache, cache_key
from ai.llm.clients import LlmAnswer, LlmClient, LlmUnavailable
from ai.llm.verdict import MalformedAnswer
from ai.llm.veto import SpendCallback
from ai.votes import Abstention, SourceResult, Vote
from domain.instruments import Instrument
from domain.signals import Signal
from utils.single_flight import SingleFlight

log = logging.getLogger(__name__)

__all__ = [
    "PROMPT_VERSION",
    "TEMPLATE_PATH",
    "AnalysisFailure",
    "HeadlinesFeed",
    "MarketAnalyst",
    "MarketEvidence",
    "MarketView",
    "gather_evidence",
    "render_prompt",
]


@dataclass(frozen=True, slots=True)
class MarketView:
    """An answered analysis: the model's view, when it was made, the newest bar it rests on,
    and what the call cost."""

    view: AnalystView
    made_at: datetime
    bars_as_of: datetime
    cost_usd: float


@dataclass(frozen=True, slots=True)
class AnalysisFailure:
    reason: str
    failed_at: datetime


Analysis = MarketView | AnalysisFailure


class MarketAnalyst:
    name = "market_analyst"

    def __init__(
        self,
        client: LlmClient,
        budget: LlmBudget,
        *,
        cache_minutes: float = 30.0,
        failure_cache_minutes: float = 5.0,
        total_timeout_seconds: float = 30.0,
        wait_seconds: float = 1.5,
        headlines: HeadlinesFeed | None = None,
        on_spend: SpendCallback | None = None,
    ) -> None:
        """`wait_seconds` is how long one `vote()` waits for a call in flight: keep it under the
        ensemble's source timeout (2 s by default) so the source says "pending" itself."""
        for setting, value in (
            ("cache_minutes", cache_minutes),
            ("total_timeout_seconds", total_timeout_seconds),
            ("wait_seconds", wait_seconds),
        ):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"market analyst {setting} must be > 0, got {value!r}")
        if not (math.isfinite(failure_cache_minutes) and failure_cache_minutes >= 0):
            raise ValueError(
                f"market analyst failure_cache_minutes must be >= 0, got {failure_cache_minutes!r}"
            )
        budget.require_price(client.model)  # an unpriced model would spend outside the budget
        self._client = client
        self._budget = budget
        self._views: VerdictCache[MarketView] = VerdictCache(cache_minutes * 60)
        self._failures: VerdictCache[AnalysisFailure] = VerdictCache(failure_cache_minutes * 60)
        self._total_timeout = total_timeout_seconds
        self._wait = wait_seconds
        self._headlines = headlines
        self._on_spend = on_spend
        self._analyses: SingleFlight[str, Analysis] = SingleFlight()  # by cache key

    async def vote(self, signal: Signal, hub: DataHub) -> SourceResult:
        instrument, now = signal.instrument, hub.now
        key = cache_key(self._client.model, PROMPT_VERSION, instrument.key)
        task = self._analyses.get(key)
        started_here = False
        if task is None:
            remembered = self._remembered(key, instrument, now)
            if remembered is not None:
                return remembered
            if not self._budget.allows(now):
                tokens, usd = self._budget.spent(now)
                return Abstention(self.name, f"daily LLM budget spent ({tokens} tokens, ${usd:.4f} today)")
            evidence = await gather_evidence(instrument, hub, self._headlines)
            if evidence is None:
                return Abstention(
                    self.name, f"no hourly or daily bars for {instrument.symbol}; nothing to analyse"
                )
            # another vote may have started, or even finished, the analysis while the bars came
            task = self._analyses.get(key)
            if task is None:
                remembered = self._remembered(key, instrument, now)
                if remembered is not None:
                    return remembered
                task = self._start(key, evidence)
                started_here = True
        try:
            analysis = await asyncio.wait_for(asyncio.shield(task), self._wait)
        except TimeoutError:
            return Abstention(self.name, f"analysis of {instrument.symbol} pending")
        except asyncio.CancelledError:
            if not task.cancelled():
                raise  # this vote was cancelled (the ensemble gave up on it): the call goes on
            return Abstention(self.name, f"analysis of {instrument.symbol} cancelled: the analyst is closing")
        return self._result(analysis, instrument, fresh=started_here)

    @property
    def in_flight(self) -> int:
        """How many analyses are running."""
        return len(self._analyses)

    async def wait_for_analyses(self) -> None:
        """Wait until every analysis in flight has finished and filled the cache."""
        await asyncio.gather(*self._analyses.tasks(), return_exceptions=True)

    async def close(self) -> None:
        """Cancel the analyses in flight (daemon shutdown): their answers would come to no one."""
        for task in self._analyses.tasks():
            task.cancel()
        await self.wait_for_analyses()

    def _remembered(self, key: str, instrument: Instrument, now: datetime) -> SourceResult | None:
        view = self._views.get(key, now)
        if view is not None:
            return self._result(view, instrument, fresh=False)
        failure = self._failures.get(key, now)
        if failure is not None:
            return self._result(failure, instrument, fresh=False)
        return None

    def _start(self, key: str, evidence: MarketEvidence) -> asyncio.Task[Analysis]:
        return self._analyses.start(
            key, lambda: self._analyse(key, evidence), name=f"{self.name} {evidence.instrument.key}"
        )

    async def _analyse(self, key: str, evidence: MarketEvidence) -> Analysis:
        """One call for one market; its outcome is remembered before the task ends."""
        try:
            analysis = await self._ask(evidence)
        except Exception as error:  # a bug here must not hammer the provider nor die unretrieved
            log.exception("%s: analysis of %s failed", self.name, evidence.instrument.key)
            analysis = AnalysisFailure(f"{type(error).__name__}: {error}", evidence.now)
        if isinstance(analysis, MarketView):
            self._views.put(key, analysis, evidence.now)
        else:
            log.warning("%s: no view of %s: %s", self.name, evidence.instrument.symbol, analysis.reason)
            self._failures.put(key, analysis, evidence.now)
        return analysis

    async def _ask(self, evidence: MarketEvidence) -> Analysis:
        now = evidence.now
        system, user = render_prompt(evidence)
        try:
            answer = await asyncio.wait_for(
                self._client.complete(system, user, VIEW_SCHEMA), self._total_timeout
            )
        except TimeoutError:
            return AnalysisFailure(f"no answer within {self._total_timeout:g} s", now)
        except LlmUnavailable as error:
            return AnalysisFailure(error.reason, now)
        cost = self._spend(now, answer)
        if answer.refused:
            return AnalysisFailure(f"the model declined to answer: {answer.text[:200]!r}", now)
        try:
            view = parse_view(answer.text)
        except MalformedAnswer as error:
            return AnalysisFailure(str(error), now)
        if view.data_quality != "ok":
            return AnalysisFailure(f"the model judged the data {view.data_quality}: {view.reason}", now)
        log.info(
            "%s: %s %s %.2f (confidence %.2f, %s): %s",
            self.name,
            evidence.instrument.symbol,
            view.direction,
            view.strength,
            view.confidence,
            view.horizon,
            view.reason,
        )
        return MarketView(view, now, evidence.as_of, cost)

    def _spend(self, now: datetime, answer: LlmAnswer) -> float:
        # priced by the configured model: a provider may answer with a dated alias of it
        model = self._client.model
        cost = self._budget.record(now, model, answer.input_tokens, answer.output_tokens)
        if self._on_spend is not None:
            self._on_spend(now, model, answer.input_tokens, answer.output_tokens, cost)
        return cost

    def _result(self, analysis: Analysis, instrument: Instrument, *, fresh: bool) -> SourceResult:
        """The vote an analysis gives. `fresh` is the vote whose call made it: it alone carries the
        cost; every other vote on the same view is `cached` and cost nothing."""
        if isinstance(analysis, AnalysisFailure):
            return Abstention(self.name, f"analysis of {instrument.symbol} failed: {analysis.reason}")
        view = analysis.view
        evidence: dict[str, Any] = {
            "provider": self._client.provider,
            "model": self._client.model,
            "prompt_version": PROMPT_VERSION,
            "direction": view.direction,
            "strength": view.strength,
            "horizon": view.horizon,
            "reason": view.reason,
            "cached": not fresh,
            "view_as_of": analysis.made_at.isoformat(),
            "cost_usd": round(analysis.cost_usd, 8) if fresh else 0.0,
        }
        return Vote(self.name, view.signed_strength, view.confidence, evidence, as_of=analysis.bars_as_of)
