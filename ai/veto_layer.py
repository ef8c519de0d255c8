"""The Veto stage in its embedded default form: deterministic rules, no LLM.

Each rule is a pure function of the signal, the time and the settings (plus what the
stage gathered for it) that returns a `VetoReason` or None. The stage runs every rule on
every entry, not just up to the first that fires, so the decision trace shows all the
reasons at once. Exits are never vetoed: a veto that kept a position open would be a
risk of its own.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from types import MappingProxyType
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from domain.instruments import Instrument
from domain.pipeline import SignalContext
from domain.signals import Decision, ReasonCode, Side, Signal, SignalIntent
from domain.time import require_aware

STALE_EVIDENCE = "stale_evidence"
MARKET_CLOSING = "market_closing"
EVENT_WINDOW = "event_window"
CONTRADICTING_NEWS = "contradicting_news"
DUPLICATE_SIGNAL = "duplicate_signal"
RULES = (STALE_EVIDENCE, MARKET_CLOSING, EVENT_WINDOW, CONTRADICTING_NEWS, DUPLICATE_SIGNAL)


@dataclass(frozen=True, slots=True)
class MarketSession:
    """A market's regular trading hours, in its own timezone (so DST moves with it).

    Holidays and half days are not modelled: on those a session looks open when it is not.
    """

    timezone: str
    open: time
    close: time
    weekdays: frozenset[int] = frozenset(range(5))  # 0 = Monday

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # raises on an unknown zone, at construction rather than mid-session
        if not self.open < self.close:
            raise ValueError(f"session open {self.open} must be before its close {self.close}")
        if not self.weekdays or not all(0 <= day <= 6 for day in self.weekdays):
            raise ValueError(f"session weekdays must be in 0..6 (0 = Monday), got {sorted(self.weekdays)}")

    def minutes_to_close(self, now: datetime) -> float | None:
        """Minutes from `now` to today's close; None when the market is closed at `now`."""
        require_aware(now, "session time")
        zone = ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        if local.weekday() not in self.weekdays or not self.open <= local.time() < self.close:
            return None
        close = datetime.combine(local.date(), self.close, tzinfo=zone)
        # Subtract in UTC: two datetimes sharing a tzinfo subtract as wall times, ignoring offsets.
        return (close.astimezone(UTC) - now.astimezone(UTC)).total_seconds() / 60.0


def us_stock_session() -> MarketSession:
    return MarketSession("America/New_York", time(9, 30), time(16, 0), frozenset(range(5)))


@dataclass(frozen=True, slots=True)
class ScheduledEvent:
    """A scheduled release (FOMC, CPI, ...). Empty `asset_classes` means every class; empty
    `symbols` every instrument of those classes."""

    name: str
    time: datetime
    asset_classes: frozenset[str] = frozenset()
    symbols: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        require_aware(self.time, f"event {self.name!r} time")

    def concerns(self, instrument: Instrument) -> bool:
        if self.asset_classes and instrument.asset_class.value not in self.asset_classes:
            return False
        return not self.symbols or bool({instrument.symbol, instrument.underlying} & self.symbols)


def _default_sessions() -> Mapping[str, MarketSession]:
    # crypto, forex and prediction markets have no session here: they never close.
    return {"stock": us_stock_session()}


@dataclass(frozen=True, slots=True)
class VetoSettings:
    max_evidence_age_seconds: float = 180.0
    event_window_minutes: float = 30.0
    closing_window_minutes: float = 10.0
    duplicate_window_seconds: float = 60.0
    strong_news: float = 0.6
    min_news_items: int = 3
    events: Sequence[ScheduledEvent] = ()
    sessions: Mapping[str, MarketSession] = field(default_factory=_default_sessions)
    # venues whose markets never close whatever their asset class: the simulated world trades around the clock
    sessionless_venues: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name in (
            "max_evidence_age_seconds",
            "event_window_minutes",
            "closing_window_minutes",
            "duplicate_window_seconds",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"veto setting {name} must be a non-negative number, got {value!r}")
        if not 0.0 < self.strong_news <= 1.0:
            raise ValueError(f"veto setting strong_news must be in (0, 1], got {self.strong_news!r}")
        if self.min_news_items < 1:
            raise ValueError(f"veto setting min_news_items must be at least 1, got {self.min_news_items!r}")
        object.__setattr__(self, "events", tuple(self.events))
        object.__setattr__(self, "sessions", MappingProxyType(dict(self.sessions)))


@dataclass(frozen=True, slots=True)
class VetoReason:
    rule: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "message": self.message, "details": dict(self.details)}


class NewsView(Protocol):
    async def sentiment(self, instrument: Instrument) -> tuple[float, int] | None:
        """Recent news sentiment for the instrument: (score in [-1, 1], number of items), or None."""
        ...


@dataclass(frozen=True, slots=True)
class PassedEntry:
    """An entry this stage let through, remembered for the duplicate rule."""

    signal_id: str
    bot: str
    instrument_key: str
    side: Side
    time: datetime


def _is_timestamp_key(key: str) -> bool:
    return key.endswith("_at") or key.endswith("as_of")


def _parse_timestamp(value: object) -> datetime | str:
    """The aware datetime in `value`, or why it is not one."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return f"{value!r}"
    else:
        return f"{value!r} ({type(value).__name__})"
    if moment.tzinfo is None or moment.utcoffset() is None:
        return f"{value!r} has no timezone"
    return moment


def stale_evidence(signal: Signal, now: datetime, settings: VetoSettings) -> VetoReason | None:
    """Every timestamp the signal rests on (its own time, evidence keys ending in `_at` or
    `as_of`) must be at most `max_evidence_age_seconds` old; an unreadable one vetoes too."""
    timestamps: dict[str, object] = {"signal time": signal.time}
    timestamps.update((key, value) for key, value in signal.evidence.items() if _is_timestamp_key(key))
    problems: list[str] = []
    stale: dict[str, float] = {}
    malformed: dict[str, str] = {}
    for key, value in timestamps.items():
        parsed = _parse_timestamp(value)
        if isinstance(parsed, str):
            malformed[key] = parsed
            problems.append(f"evidence timestamp {key!r} is not a time: {parsed}")
            continue
        age = (now - parsed).total_seconds()
        if age > settings.max_evidence_age_seconds:
            stale[key] = round(age, 3)
            problems.append(f"{key!r} is {age:.0f} s old")
    if not problems:
        return None
    limit = settings.max_evidence_age_seconds
    return VetoReason(
        STALE_EVIDENCE,
        "; ".join(problems) + f" (limit {limit:.0f} s)",
        {"stale_seconds": stale, "malformed": malformed, "limit_seconds": limit},
    )


def market_closing(signal: Signal, now: datetime, settings: VetoSettings) -> VetoReason | None:
    """No entry into a market that is closed or closes within `closing_window_minutes`."""
    asset_class = signal.instrument.asset_class.value
    session = settings.sessions.get(asset_class)
    if session is None or signal.instrument.venue in settings.sessionless_venues:
        return None
    symbol = signal.instrument.symbol
    minutes = session.minutes_to_close(now)
    if minutes is None:
        return VetoReason(MARKET_CLOSING, f"the {asset_class} market of {symbol} is closed", {"closed": True})
    if minutes > settings.closing_window_minutes:
        return None
    return VetoReason(
        MARKET_CLOSING,
        f"the {asset_class} market of {symbol} closes in {minutes:.1f} min "
        f"(no entries in the last {settings.closing_window_minutes:g} min)",
        {"closed": False, "minutes_to_close": round(minutes, 3)},
    )


def event_window(signal: Signal, now: datetime, settings: VetoSettings) -> VetoReason | None:
    """No entry within `event_window_minutes` before or after a scheduled event for the instrument."""
    window = timedelta(minutes=settings.event_window_minutes)
    near = [
        event
        for event in settings.events
        if event.concerns(signal.instrument) and abs(event.time - now) <= window
    ]
    if not near:
        return None
    described = []
    for event in sorted(near, key=lambda e: e.time):
        minutes = (event.time - now).total_seconds() / 60.0
        when = f"in {minutes:.0f} min" if minutes >= 0 else f"{-minutes:.0f} min ago"
        described.append(f"{event.name} {when}")
    return VetoReason(
        EVENT_WINDOW,
        f"{', '.join(described)} (no entries within {settings.event_window_minutes:g} min of an event)",
        {"events": [{"name": event.name, "time": event.time.isoformat()} for event in near]},
    )


def contradicting_news(
    signal: Signal, now: datetime, settings: VetoSettings, sentiment: tuple[float, int] | None
) -> VetoReason | None:
    """Strong news against the side: a buy into score <= -strong_news, a sell into >= +strong_news,
    each over at least `min_news_items` items. `sentiment` is what the news view said, or None."""
    if sentiment is None:
        return None
    score, items = sentiment
    if items < settings.min_news_items or not math.isfinite(score):
        return None
    against = score <= -settings.strong_news if signal.side is Side.BUY else score >= settings.strong_news
    if not against:
        return None
    return VetoReason(
        CONTRADICTING_NEWS,
        f"news on {signal.instrument.symbol} is {score:+.2f} over {items} items, "
        f"against a {signal.side.value}",
        {"score": score, "items": items, "threshold": settings.strong_news},
    )


def duplicate_signal(
    signal: Signal,
    now: datetime,
    settings: VetoSettings,
    passed: Sequence[PassedEntry],
    seen_ids: Collection[str],
) -> VetoReason | None:
    """The same signal id seen before, or an entry by the same bot, instrument and side passed
    within `duplicate_window_seconds`."""
    if signal.id in seen_ids:
        return VetoReason(DUPLICATE_SIGNAL, f"signal {signal.id} was seen before", {"signal_id": signal.id})
    window = settings.duplicate_window_seconds
    for entry in passed:
        same = (entry.bot, entry.instrument_key, entry.side) == (
            signal.bot,
            signal.instrument.key,
            signal.side,
        )
        age = (now - entry.time).total_seconds()
        if same and age < window:
            return VetoReason(
                DUPLICATE_SIGNAL,
                f"{signal.bot} sent the same {signal.side.value} {signal.instrument.symbol} entry "
                f"{age:.0f} s ago (duplicates within {window:g} s are refused)",
                {"previous_signal_id": entry.signal_id, "seconds_ago": round(age, 3)},
            )
    return None


class RulesVeto:
    """The Veto stage with no LLM: the five rules above. Keeps, in memory, the entries it let
    through (for the duplicate rule) and the signal ids it has seen, both pruned by age."""

    name = "veto"

    def __init__(self, settings: VetoSettings, news: NewsView | None = None) -> None:
        self._settings = settings
        self._news = news
        self._passed: list[PassedEntry] = []
        self._seen: dict[str, datetime] = {}

    async def evaluate(self, signal: Signal, ctx: SignalContext) -> Decision:
        if signal.intent is SignalIntent.CLOSE:
            return Decision.accept(self.name, "exits are never vetoed")
        sentiment: tuple[float, int] | None = None
        if self._news is None:
            news_note = "not available"
        else:
            sentiment = await self._news.sentiment(signal.instrument)
            news_note = (
                f"no reading for {signal.instrument.symbol}"
                if sentiment is None
                else f"{sentiment[0]:+.2f} over {sentiment[1]} items"
            )
        # From here on nothing awaits: checking and recording duplicates is one step, so two
        # copies of a signal evaluated concurrently cannot both pass.
        now = ctx.now
        settings = self._settings
        self._prune(now)
        checked = [STALE_EVIDENCE, MARKET_CLOSING, EVENT_WINDOW]
        results = [
            stale_evidence(signal, now, settings),
            market_closing(signal, now, settings),
            event_window(signal, now, settings),
        ]
        if self._news is not None:
            checked.append(CONTRADICTING_NEWS)
            results.append(contradicting_news(signal, now, settings, sentiment))
        checked.append(DUPLICATE_SIGNAL)
        results.append(duplicate_signal(signal, now, settings, self._passed, self._seen.keys()))
        fired = [reason for reason in results if reason is not None]
        self._seen.setdefault(signal.id, now)
        details = {
            "veto": {
                "kind": "rules",
                "rules_checked": checked,
                "fired": [reason.to_dict() for reason in fired],
                "news": news_note,
            }
        }
        if fired:
            return Decision.reject(
                self.name,
                ReasonCode.VETOED,
                "vetoed: " + "; ".join(reason.message for reason in fired),
                details,
            )
        self._passed.append(PassedEntry(signal.id, signal.bot, signal.instrument.key, signal.side, now))
        return Decision.accept(self.name, f"no veto rule fired ({len(checked)} checked)", details=details)

    def _prune(self, now: datetime) -> None:
        window = timedelta(seconds=self._settings.duplicate_window_seconds)
        self._passed = [entry for entry in self._passed if now - entry.time <= window]
        # A copy of a signal older than the evidence limit is vetoed as stale anyway (its own
        # time is evidence), so its id need not be remembered longer than that.
        horizon = timedelta(
            seconds=max(self._settings.duplicate_window_seconds, self._settings.max_evidence_age_seconds)
        )
        self._seen = {sid: seen for sid, seen in self._seen.items() if now - seen <= horizon}
