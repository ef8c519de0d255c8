"""A daily ceiling on what the LLM veto may spend, in tokens and in dollars.

The day is the operator's local day (`timezone`), so "per day" matches the provider's
invoice as the operator reads it and resets at local midnight, DST included. Spend is
kept in memory; the daemon journals each spend (see `LlmVeto.on_spend`) if it must
survive a restart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from domain.time import require_aware

Price = tuple[float, float]  # USD per 1M input tokens, USD per 1M output tokens


class LlmBudget:
    def __init__(
        self,
        max_tokens_per_day: int,
        max_cost_usd_per_day: float,
        prices: Mapping[str, Price],
        timezone: str,
    ) -> None:
        if max_tokens_per_day < 0:
            raise ValueError(f"LLM budget max_tokens_per_day must be >= 0, got {max_tokens_per_day!r}")
        if not (math.isfinite(max_cost_usd_per_day) and max_cost_usd_per_day >= 0):
            raise ValueError(f"LLM budget max_cost_usd_per_day must be >= 0, got {max_cost_usd_per_day!r}")
        for model, (per_input, per_output) in prices.items():
            if not all(math.isfinite(p) and p >= 0 for p in (per_input, per_output)):
                raise ValueError(f"LLM price of {model!r} must be two non-negative USD per 1M tokens amounts")
        self.max_tokens_per_day = max_tokens_per_day
        self.max_cost_usd_per_day = max_cost_usd_per_day
        self.prices: Mapping[str, Price] = MappingProxyType(dict(prices))
        self._zone = ZoneInfo(timezone)  # raises on an unknown zone now, not at the first spend
        self._day: date | None = None
        self._tokens = 0
        self._usd = 0.0

    def require_price(self, model: str) -> None:
        """Raise unless `model` has a price: a model with no price would spend without limit."""
        if model not in self.prices:
            raise ValueError(f"LLM budget has no price for model {model!r} (priced: {sorted(self.prices)})")

    def allows(self, now: datetime) -> bool:
        """Whether another call may be made today: both the token and the dollar ceiling have room."""
        tokens, usd = self.spent(now)
        return tokens < self.max_tokens_per_day and usd < self.max_cost_usd_per_day

    def record(self, now: datetime, model: str, input_tokens: int, output_tokens: int) -> float:
        """Add one call's usage to `now`'s day; returns its cost in USD."""
        self.require_price(model)
        if input_tokens < 0 or output_tokens < 0:
            raise ValueError(f"token counts must be >= 0, got {input_tokens} in, {output_tokens} out")
        per_input, per_output = self.prices[model]
        cost = (input_tokens * per_input + output_tokens * per_output) / 1_000_000
        day = self._local_day(now)
        if day != self._day:
            self._day, self._tokens, self._usd = day, 0, 0.0
        self._tokens += input_tokens + output_tokens
        self._usd += cost
        return cost

    def spent(self, now: datetime) -> tuple[int, float]:
        """(tokens, USD) spent on `now`'s local day."""
        if self._local_day(now) != self._day:
            return 0, 0.0
        return self._tokens, self._usd

    def _local_day(self, now: datetime) -> date:
        require_aware(now, "LLM budget time")
        return now.astimezone(self._zone).date()
