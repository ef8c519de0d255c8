"""Sportsbook odds from The Odds API (v4) as a vig-free consensus probability that a team wins.

Fetch: `GET /v4/sports/{sport}/odds?apiKey=&regions=&markets=h2h&oddsFormat=decimal&dateFormat=iso`
through `JsonFetcher`; one answer lists every upcoming game of the sport with each bookmaker's
head-to-head prices, so one request (cached for the fetcher's cache time) serves every contract
of that sport. Each call costs markets x regions = 1 credit of the monthly quota; what is left
(`x-requests-remaining`) goes into the evidence and the health note.

Model (standard, not Odds-API-specific; /work/shared/reference/prediction-markets.md §7):
1. implied probability per price: decimal `q = 1/d`; American `+A -> 100/(A+100)`,
   `-A -> A/(A+100)`;
2. per bookmaker, remove the vig by the proportional (multiplicative) method,
   `p_i = q_i / sum_j q_j`, so the book's probabilities sum to 1;
3. consensus = the mean of `p_i` over the bookmakers that quote the outcome, leaving out a
   bookmaker whose `last_update` is older than `max_age` (a stale line is not today's price).

Payload shape (the-odds-api.com/liveapi/guides/v4): `[{id, sport_key, sport_title, commence_time,
home_team, away_team, bookmakers: [{key, title, last_update, markets: [{key: "h2h", last_update,
outcomes: [{name, price}]}]}]}]`; soccer's h2h has a third outcome, "Draw", which is kept (it
takes its share of the probability; a team's win is not 1 - the other team's).
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from brokers.json_fields import json_list, json_object, text_field
from brokers.kalshi_payloads import EXCHANGE_TIMEZONE
from domain.contracts import ContractSpec, Domain, Measure
from scrapers.base import (
    EstimateResult,
    JsonFetcher,
    MalformedPayload,
    NoEstimate,
    SourceEstimate,
    SourceHealth,
    SourceUnavailable,
)

H2H = "h2h"


class OddsFormat(StrEnum):
    DECIMAL = "decimal"
    AMERICAN = "american"


class NoConsensus(LookupError):
    """No bookmaker gives a usable price for the outcome; `reason` is a sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------- types
@dataclass(frozen=True, slots=True)
class OddsOutcome:
    name: str
    price: float
    odds_format: OddsFormat
    point: float | None = None  # spreads and totals only

    @property
    def implied(self) -> float:
        return implied_probability(self.price, self.odds_format)


@dataclass(frozen=True, slots=True)
class OddsMarket:
    key: str  # "h2h", "spreads", "totals"
    last_update: datetime | None
    outcomes: tuple[OddsOutcome, ...]


@dataclass(frozen=True, slots=True)
class Bookmaker:
    key: str
    title: str
    last_update: datetime
    markets: tuple[OddsMarket, ...]

    def market(self, key: str) -> OddsMarket | None:
        return next((market for market in self.markets if market.key == key), None)


@dataclass(frozen=True, slots=True)
class OddsEvent:
    id: str
    sport_key: str
    commence_time: datetime
    home_team: str
    away_team: str
    bookmakers: tuple[Bookmaker, ...]

    def is_between(self, team_a: str, team_b: str) -> bool:
        """Whether the game is `team_a` against `team_b`, either way round, case-insensitively."""
        ours = {_folded(self.home_team), _folded(self.away_team)}
        return ours == {_folded(team_a), _folded(team_b)} and len(ours) == 2


def _folded(name: str) -> str:
    return " ".join(name.split()).casefold()


# --------------------------------------------------------------------------------------- pure model
def implied_probability(price: float, odds_format: OddsFormat | str) -> float:
    """The bookmaker's implied probability of one price, vig included.

    Decimal `d` (the payout per unit staked, stake included) gives `1/d`; American `+A` (win A
    on 100) gives `100/(A+100)` and `-A` (stake A to win 100) gives `A/(A+100)`."""
    if not math.isfinite(price):
        raise ValueError(f"odds price {price!r} is not a finite number")
    match OddsFormat(odds_format):
        case OddsFormat.DECIMAL:
            if price <= 1:
                raise ValueError(f"decimal odds {price} must be above 1")
            return 1 / price
        case OddsFormat.AMERICAN:
            if abs(price) < 100:
                raise ValueError(f"American odds {price} must be +100 or more, or -100 or less")
            return 100 / (price + 100) if price > 0 else -price / (-price + 100)


def vig_free(book_outcomes: Sequence[OddsOutcome]) -> dict[str, float]:
    """One bookmaker's market without its margin, by the proportional method: `p_i = q_i / sum q`.

    Keys are the outcome names as the book wrote them (soccer's "Draw" included)."""
    if len(book_outcomes) < 2:
        raise ValueError(f"a market needs at least two outcomes to remove the vig, got {len(book_outcomes)}")
    implied = {outcome.name: outcome.implied for outcome in book_outcomes}
    total = sum(implied.values())
    return {name: q / total for name, q in implied.items()}


def consensus(
    events_payload: Sequence[OddsEvent] | Any,
    event: str | tuple[str, str],
    outcome_name: str,
    *,
    max_age: timedelta,
    now: datetime,
    market: str = H2H,
) -> tuple[float, int, dict[str, Any]]:
    """The mean over bookmakers of their vig-free probability of `outcome_name` in one game.

    `events_payload` is the Odds API answer (raw or already through `parse_odds`); `event` is the
    game's id or its two team names (either order, case-insensitive; must match one game only).
    A bookmaker whose `last_update` is older than `max_age` at `now` is dropped, as is one that
    does not quote the market or the outcome. Returns (probability, bookmakers used, evidence);
    raises `NoConsensus` when the game is not there or no bookmaker is left."""
    events = _events_of(events_payload)
    game = _find_event(events, event)
    wanted = _folded(outcome_name)
    per_book: dict[str, float] = {}
    stale: list[str] = []
    unquoted: list[str] = []
    newest: datetime | None = None
    for book in game.bookmakers:
        if now - book.last_update > max_age:
            stale.append(book.key)
            continue
        quoted = book.market(market)
        name = next((o.name for o in quoted.outcomes if _folded(o.name) == wanted), None) if quoted else None
        if quoted is None or name is None:
            unquoted.append(book.key)
            continue
        per_book[book.key] = vig_free(quoted.outcomes)[name]
        newest = book.last_update if newest is None else max(newest, book.last_update)
    evidence: dict[str, Any] = {
        "event_id": game.id,
        "sport_key": game.sport_key,
        "home_team": game.home_team,
        "away_team": game.away_team,
        "commence_time": game.commence_time.isoformat(),
        "outcome": outcome_name,
        "method": "proportional vig removal, mean across bookmakers",
        "vig_free_by_book": dict(per_book),
        "stale_books": stale,
        "books_without_quote": unquoted,
        "max_age_minutes": max_age.total_seconds() / 60,
        "as_of": None if newest is None else newest.isoformat(),
    }
    if not per_book:
        raise NoConsensus(
            f"no bookmaker quotes {outcome_name!r} for {game.away_team} at {game.home_team} within "
            f"{max_age} (stale: {len(stale)}, without the quote: {len(unquoted)})"
        )
    probability = sum(per_book.values()) / len(per_book)
    return probability, len(per_book), evidence


def _events_of(payload: Sequence[OddsEvent] | Any) -> list[OddsEvent]:
    if isinstance(payload, Sequence) and all(isinstance(item, OddsEvent) for item in payload):
        return list(payload)
    return parse_odds(payload)


def _find_event(events: Sequence[OddsEvent], event: str | tuple[str, str]) -> OddsEvent:
    if isinstance(event, str):
        found = [game for game in events if game.id == event]
        if not found:
            raise NoConsensus(f"no game with id {event!r} among {len(events)} listed")
        return found[0]
    found = [game for game in events if game.is_between(*event)]
    if len(found) != 1:
        many = "no game" if not found else f"{len(found)} games"
        raise NoConsensus(f"{many} between {event[0]!r} and {event[1]!r} among {len(events)} listed")
    return found[0]


# --------------------------------------------------------------------------------------- parsing
def parse_odds(payload: Any, odds_format: OddsFormat | str = OddsFormat.DECIMAL) -> list[OddsEvent]:
    """`GET /v4/sports/{sport}/odds` (dateFormat=iso) into events; `odds_format` is the request's
    `oddsFormat`, which the answer does not repeat. Raises `MalformedPayload` saying what is wrong."""
    fmt = OddsFormat(odds_format)
    try:
        return [_event(item, fmt) for item in json_list(payload, "odds answer")]
    except ValueError as error:
        raise MalformedPayload(str(error)) from error


def _event(item: Any, fmt: OddsFormat) -> OddsEvent:
    obj = json_object(item, "odds event")
    event_id = text_field(obj, "id", "odds event")
    what = f"odds event {event_id}"
    return OddsEvent(
        id=event_id,
        sport_key=text_field(obj, "sport_key", what),
        commence_time=_iso_time(obj.get("commence_time"), f"{what} commence_time"),
        home_team=text_field(obj, "home_team", what),
        away_team=text_field(obj, "away_team", what),
        bookmakers=tuple(
            _bookmaker(book, fmt, what) for book in json_list(obj.get("bookmakers", []), f"{what} bookmakers")
        ),
    )


def _bookmaker(item: Any, fmt: OddsFormat, where: str) -> Bookmaker:
    obj = json_object(item, f"{where} bookmaker")
    key = text_field(obj, "key", f"{where} bookmaker")
    what = f"{where} bookmaker {key}"
    markets = tuple(
        _market(market, fmt, what) for market in json_list(obj.get("markets", []), f"{what} markets")
    )
    return Bookmaker(
        key=key,
        title=str(obj.get("title") or key),
        last_update=_iso_time(obj.get("last_update"), f"{what} last_update"),
        markets=markets,
    )


def _market(item: Any, fmt: OddsFormat, where: str) -> OddsMarket:
    obj = json_object(item, f"{where} market")
    key = text_field(obj, "key", f"{where} market")
    what = f"{where} market {key}"
    last_update = obj.get("last_update")
    outcomes = tuple(_outcome(o, fmt, what) for o in json_list(obj.get("outcomes"), f"{what} outcomes"))
    return OddsMarket(
        key=key,
        last_update=None if last_update is None else _iso_time(last_update, f"{what} last_update"),
        outcomes=outcomes,
    )


def _outcome(item: Any, fmt: OddsFormat, where: str) -> OddsOutcome:
    obj = json_object(item, f"{where} outcome")
    name = text_field(obj, "name", f"{where} outcome")
    what = f"{where} outcome {name!r}"
    price = _number(obj.get("price"), f"{what} price")
    implied_probability(price, fmt)  # rejects a price impossible in this format, here rather than later
    point = obj.get("point")
    return OddsOutcome(name, price, fmt, None if point is None else _number(point, f"{what} point"))


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what}: expected a finite number, got {value!r}")
    return float(value)


def _iso_time(value: Any, what: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what}: expected an ISO-8601 time, got {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{what}: {value!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{what}: {value!r} has no timezone")
    return moment


# The subject of a game-winner contract: "Away at Home" or "Team A vs Team B" (also "vs.").
_MATCHUP = re.compile(r"^\s*(?P<first>.+?)\s+(?:at|vs\.?)\s+(?P<second>.+?)\s*$", re.IGNORECASE)


def teams_of(subject: str) -> tuple[str, str] | None:
    """The two team names a contract's `subject` names, or None when it names no match-up."""
    match = _MATCHUP.match(subject)
    return None if match is None else (match["first"], match["second"])


# --------------------------------------------------------------------------------------- the source
@dataclass(slots=True)
class OddsApiHealth(SourceHealth):
    """The fetcher's health plus the Odds API's monthly quota left (`x-requests-remaining`)."""

    requests_remaining: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**SourceHealth.to_dict(self), "requests_remaining": self.requests_remaining}


class OddsApiSource:
    """P(the named team wins) for GAME_WINNER contracts, from the sportsbooks' vig-free consensus.

    Matching a contract to a game: its `subject` names the two teams ("Away at Home" or "Team A vs
    Team B") and its `outcome` the team whose win pays YES (or "Draw"). The game is the one, among
    the configured `sports`' listings, whose home and away teams are those two names (exact,
    case-insensitive, either order) and whose `commence_time` falls on `contract.day` in US Eastern
    time, the day Kalshi's sports tickers carry. No game, or more than one, is a `NoEstimate`:
    a near-miss name is not guessed at.

    The API key travels in the `apiKey` query parameter; it is kept out of the fetcher's error
    sentences (which name the URL without its query), out of the cache keys, and is redacted from
    any reason this source reports.
    """

    name = "sportsbook_odds"
    domains = frozenset({Domain.SPORTS})

    def __init__(
        self,
        api_key: str,
        fetcher: JsonFetcher,
        sports: Sequence[str],
        base_url: str = "https://api.the-odds-api.com",
        regions: str = "us",
        max_age: timedelta = timedelta(minutes=30),
    ) -> None:
        self._api_key = api_key
        self._fetcher = fetcher
        self.sports = tuple(sports)
        self.base_url = base_url.rstrip("/")
        self.regions = regions
        self.max_age = max_age
        self.requests_remaining: int | None = None
        # Concurrent estimates of one sport wait for the first fetch, then read it from the cache.
        self._fetching = threading.Lock()

    def health(self) -> OddsApiHealth:
        base = self._fetcher.health()
        return OddsApiHealth(
            name=base.name,
            last_success_at=base.last_success_at,
            last_error=base.last_error,
            last_error_at=base.last_error_at,
            requests_today=base.requests_today,
            daily_budget=base.daily_budget,
            requests_remaining=self.requests_remaining,
        )

    async def estimate(self, contract: ContractSpec, now: datetime) -> EstimateResult:
        if contract.domain is not Domain.SPORTS or contract.measure is not Measure.GAME_WINNER:
            return NoEstimate(self.name, f"prices game-winner sports contracts, not {contract.measure}")
        teams = teams_of(contract.subject)
        if teams is None:
            return NoEstimate(
                self.name, f"subject {contract.subject!r} names no 'A at B' or 'A vs B' match-up"
            )
        if contract.outcome is None or contract.day is None:
            return NoEstimate(self.name, f"{contract.ticker} has no winning side or no game day")
        try:
            return await asyncio.to_thread(self._estimate, contract, teams, now)
        except SourceUnavailable as error:
            return NoEstimate(self.name, self._redacted(error.reason))
        except MalformedPayload as error:
            return NoEstimate(self.name, self._redacted(f"odds answer did not parse: {error}"))

    def _estimate(self, contract: ContractSpec, teams: tuple[str, str], now: datetime) -> EstimateResult:
        assert contract.outcome is not None and contract.day is not None
        for sport in self.sports:
            games = [
                game
                for game in self._events(sport, now)
                if game.is_between(*teams)
                and game.commence_time.astimezone(EXCHANGE_TIMEZONE).date() == contract.day
            ]
            if len(games) > 1:
                return NoEstimate(
                    self.name, f"{len(games)} {sport} games of {contract.subject} on {contract.day}"
                )
            if not games:
                continue
            try:
                probability, books, evidence = consensus(
                    games, games[0].id, contract.outcome, max_age=self.max_age, now=now
                )
            except NoConsensus as error:
                return NoEstimate(self.name, error.reason)
            as_of = datetime.fromisoformat(evidence["as_of"])
            evidence = {**evidence, "books_used": books, "requests_remaining": self.requests_remaining}
            return SourceEstimate(self.name, probability, as_of, evidence)
        return NoEstimate(
            self.name, f"no game {teams[0]} / {teams[1]} on {contract.day} in {', '.join(self.sports)}"
        )

    def _events(self, sport: str, now: datetime) -> list[OddsEvent]:
        params = {
            "apiKey": self._api_key,
            "regions": self.regions,
            "markets": H2H,
            "oddsFormat": OddsFormat.DECIMAL.value,
            "dateFormat": "iso",
        }
        with self._fetching:
            payload, headers = self._fetcher.get_json_and_headers(
                f"{self.base_url}/v4/sports/{sport}/odds", now, params
            )
        remaining = headers.get("x-requests-remaining")
        if remaining is not None and remaining.strip().isdigit():
            self.requests_remaining = int(remaining)
        return parse_odds(payload, OddsFormat.DECIMAL)

    def _redacted(self, text: str) -> str:
        return text.replace(self._api_key, "<redacted>") if self._api_key else text
