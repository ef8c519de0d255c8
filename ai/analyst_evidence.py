"""What the market analyst shows the model: the evidence for one market and the prompt it renders.

The template is `ai/prompts/analyst_v1.md` (versioned like the veto's: the version goes into
every vote's evidence and into the cache key). Bars come from the tick's `DataHub`: the last
48 hourly and 30 daily bars, one short line each, with the latest quote and, when a news
feed is given, the newest headlines with their sentiment.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ai.data_hub import DataHub
from ai.llm.analyst_view import VIEW_SCHEMA
from ai.llm.prompt import PROMPTS_DIRECTORY, load_template
from domain.instruments import Instrument
from domain.market import BarSeries, Quote
from domain.time import require_aware

TEMPLATE_PATH = PROMPTS_DIRECTORY / "analyst_v1.md"
_TEMPLATE = load_template(TEMPLATE_PATH)
PROMPT_VERSION = _TEMPLATE.version

HOUR, DAY = 3600, 86400
# (timeframe, bars, label): two days of hours and a month of days; 78 short lines keep the
# prompt near 2.5 k tokens with ten headlines, under the ~3 k we allow a market view
TIMEFRAMES = ((HOUR, 48, "Hourly"), (DAY, 30, "Daily"))
MAX_HEADLINES = 10
MAX_HEADLINE_CHARS = 200

# (published at, text, sentiment in [-1, 1])
Headline = tuple[datetime, str, float]
HeadlinesFeed = Callable[[Instrument], Sequence[Headline]]


@dataclass(frozen=True, slots=True)
class MarketEvidence:
    """What the model is shown about one market at `now`. `bars` holds the timeframes that had
    bars (at least one)."""

    instrument: Instrument
    now: datetime
    bars: Mapping[int, BarSeries]
    quote: Quote | None
    headlines: tuple[Headline, ...] = ()

    def __post_init__(self) -> None:
        require_aware(self.now, "market analyst time")
        if not self.bars or any(len(series) == 0 for series in self.bars.values()):
            raise ValueError(f"{self.instrument.key}: market evidence needs bars")

    @property
    def as_of(self) -> datetime:
        """When the newest bar shown closed."""
        return max(_close_time(series, len(series) - 1) for series in self.bars.values())


async def gather_evidence(
    instrument: Instrument, hub: DataHub, headlines: HeadlinesFeed | None = None
) -> MarketEvidence | None:
    """The evidence for one market from the hub, or None when it has no bars at all."""
    fetched = await asyncio.gather(
        *(hub.bars(instrument, timeframe, count) for timeframe, count, _ in TIMEFRAMES)
    )
    bars = {
        timeframe: series
        for (timeframe, _, _), series in zip(TIMEFRAMES, fetched, strict=True)
        if series is not None and len(series) > 0
    }
    if not bars:
        return None
    quote = await hub.quote(instrument)
    news = tuple(headlines(instrument)) if headlines is not None else ()
    return MarketEvidence(instrument, hub.now, bars, quote, news)


def render_prompt(evidence: MarketEvidence) -> tuple[str, str]:
    """(system, user) prompts asking for a view of the evidence's market."""
    now = evidence.now
    tables = []
    for timeframe, _, label in TIMEFRAMES:
        series = evidence.bars.get(timeframe)
        tables.append(f"{label} bars: none available" if series is None else _bars_table(series, label, now))
    user = _TEMPLATE.user.substitute(
        instrument=evidence.instrument.symbol,
        asset_class=evidence.instrument.asset_class.value,
        now=_utc(now),
        quote=_quote_line(evidence.quote, now),
        bars="\n\n".join(tables),
        headlines=_headline_lines(evidence.headlines, now),
        schema=_PROMPT_SCHEMA,
    )
    return _TEMPLATE.system, user


def _without_titles(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema less pydantic's titles and descriptions: tokens that tell the model nothing
    the template does not."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("title", "description") and not isinstance(value, dict):
            continue
        out[key] = _without_titles(value) if isinstance(value, dict) else value
    return out


_PROMPT_SCHEMA = json.dumps(_without_titles(VIEW_SCHEMA), sort_keys=True)


def _bars_table(series: BarSeries, label: str, now: datetime) -> str:
    """One line a bar, oldest first: close time, close, % change from the previous close (the
    first bar's from its open), high and low. Columns are space-separated and times carry no
    year (the heading has it): 78 bars must fit the prompt's token budget."""
    last = len(series) - 1
    first_open = float(series.open[0])
    window_change = _percent(float(series.close[last]), first_open)
    lines = [
        f"{label} bars ({len(series)}, oldest first; the newest closed {_utc(_close_time(series, last))}, "
        f"{_age(now - _close_time(series, last))}):",
        f"change over these bars {window_change:+.2f} %, highest {_price(float(series.high.max()))}, "
        f"lowest {_price(float(series.low.min()))}",
        "close time (UTC), close, change %, high, low",
    ]
    previous = first_open
    for i in range(len(series)):
        close = float(series.close[i])
        lines.append(
            f"{_close_time(series, i):%m-%d %H:%M} {_price(close)} {_percent(close, previous):+.2f} "
            f"{_price(float(series.high[i]))} {_price(float(series.low[i]))}"
        )
        previous = close
    return "\n".join(lines)


def _quote_line(quote: Quote | None, now: datetime) -> str:
    if quote is None:
        return "none available"
    return (
        f"bid {quote.bid}, ask {quote.ask} (spread {quote.spread}) at {_utc(quote.time)}, "
        f"{_age(now - quote.time)}"
    )


def _headline_lines(headlines: Sequence[Headline], now: datetime) -> str:
    newest = sorted(headlines, key=lambda headline: headline[0], reverse=True)[:MAX_HEADLINES]
    if not newest:
        return "none available"
    lines = []
    for published, text, sentiment in newest:
        text = " ".join(text.split())  # one line each, whatever the feed's layout
        if len(text) > MAX_HEADLINE_CHARS:
            text = text[: MAX_HEADLINE_CHARS - 3] + "..."
        lines.append(f"- {_utc(published)} ({_age(now - published)}; sentiment {sentiment:+.2f}): {text}")
    return "\n".join(lines)


def _close_time(series: BarSeries, index: int) -> datetime:
    return datetime.fromtimestamp(float(series.times[index]) + series.timeframe_seconds, UTC)


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _age(delta: timedelta) -> str:
    """How long before now, in the unit a trader would say it; a time after now says so."""
    seconds = delta.total_seconds()
    if seconds < 0:
        return f"{_duration(-seconds)} AFTER now (in the future)"
    return f"{_duration(seconds)} before now"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _price(value: float) -> str:
    return f"{value:.6g}"


def _percent(value: float, reference: float) -> float:
    return 0.0 if reference == 0 else (value / reference - 1) * 100
