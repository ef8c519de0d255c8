"""The Odds API source: pure odds arithmetic and parsing on fixtures, then real HTTP to a local fake.

Fixtures (tests/scrapers/fixtures/), in The Odds API v4 format (`GET /v4/sports/{sport}/odds`,
markets=h2h, dateFormat=iso; shape from the-odds-api.com/liveapi/guides/v4):
- `odds_americanfootball_nfl_h2h_decimal.json`: oddsFormat=decimal; Cowboys at Eagles priced by
  DraftKings (1.80 / 2.10), FanDuel (1.75 / 2.15) and BetMGM, whose line is 90 minutes old at NOW
  (stale); a Monday-night game that starts 01:15 UTC on Dec 1 (Nov 30 in New York); a game no
  book quotes yet.
- `odds_americanfootball_nfl_h2h_american.json`: oddsFormat=american; Caesars on the same game
  (Cowboys +140, Eagles -165).
- `odds_soccer_epl_h2h_decimal.json`: oddsFormat=decimal; Arsenal v Chelsea with the "Draw" outcome.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.contracts import ContractSpec, Domain, Measure
from scrapers.base import JsonFetcher, MalformedPayload, NoEstimate, SourceEstimate
from scrapers.sports.odds import (
    NoConsensus,
    OddsApiSource,
    OddsFormat,
    OddsOutcome,
    consensus,
    implied_probability,
    parse_odds,
    teams_of,
    vig_free,
)
from tests.fakes.odds_api import API_KEY, FakeOddsApi
from tests.fakes.server import Fault
from utils.request_budget import RequestBudget

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)
NFL, EPL = "americanfootball_nfl", "soccer_epl"
EAGLES_GAME = "8a1f0c3de27b4b6f9d51c2e07a9b3f64"

# Hand-worked: DraftKings 1.80 / 2.10 -> q = 0.5556 / 0.4762, sum 1.0317 -> 0.5385 / 0.4615;
# FanDuel 1.75 / 2.15 -> q = 0.5714 / 0.4651, sum 1.0365 -> 0.5513 / 0.4487; BetMGM is stale.
DRAFTKINGS_EAGLES = 0.5385
FANDUEL_EAGLES = 0.5513
CONSENSUS_EAGLES = 0.5449  # (0.5385 + 0.5513) / 2


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def game(subject: str, outcome: str, day: date = date(2026, 11, 29)) -> ContractSpec:
    return ContractSpec(
        venue="kalshi",
        ticker=f"KXNFLGAME-TEST-{outcome[:3].upper()}",
        series="KXNFLGAME",
        event="KXNFLGAME-TEST",
        underlying="KXNFLGAME-TEST",
        domain=Domain.SPORTS,
        measure=Measure.GAME_WINNER,
        subject=subject,
        day=day,
        outcome=outcome,
    )


EAGLES_WIN = game("Dallas Cowboys at Philadelphia Eagles", "Philadelphia Eagles")


@pytest.fixture
def fake() -> Any:
    server = FakeOddsApi().start()
    server.serve(NFL, fixture("odds_americanfootball_nfl_h2h_decimal.json"))
    server.serve(EPL, fixture("odds_soccer_epl_h2h_decimal.json"))
    yield server
    server.stop()


def source(fake: FakeOddsApi, *, api_key: str = API_KEY, per_day: int = 100) -> OddsApiSource:
    fetcher = JsonFetcher("sportsbook_odds", cache_seconds=300, budget=RequestBudget(per_day=per_day))
    return OddsApiSource(api_key, fetcher, [NFL, EPL], base_url=fake.url)


def run(odds: OddsApiSource, contract: ContractSpec, now: datetime = NOW) -> Any:
    return asyncio.run(odds.estimate(contract, now))


# --------------------------------------------------------------------------------------- pure model
def test_implied_probability_of_decimal_odds_is_their_reciprocal() -> None:
    assert implied_probability(1.80, "decimal") == pytest.approx(0.5556, abs=1e-4)
    assert implied_probability(2.10, OddsFormat.DECIMAL) == pytest.approx(0.4762, abs=1e-4)


def test_implied_probability_of_american_odds_for_underdog_and_favourite() -> None:
    assert implied_probability(240, "american") == pytest.approx(100 / 340)  # 0.2941
    assert implied_probability(-300, "american") == pytest.approx(0.75)  # 300 / 400
    assert implied_probability(100, "american") == implied_probability(-100, "american") == 0.5


@pytest.mark.parametrize(("price", "odds_format"), [(1.0, "decimal"), (0.8, "decimal"), (50, "american")])
def test_implied_probability_rejects_a_price_impossible_in_its_format(price: float, odds_format: str) -> None:
    with pytest.raises(ValueError, match="odds"):
        implied_probability(price, odds_format)


def test_vig_free_divides_each_implied_probability_by_the_book_total() -> None:
    outcomes = [OddsOutcome("Home", 1.80, OddsFormat.DECIMAL), OddsOutcome("Away", 2.10, OddsFormat.DECIMAL)]
    fair = vig_free(outcomes)
    # q = 0.5556 / 0.4762, sum 1.0317 -> 0.5385 / 0.4615
    assert fair["Home"] == pytest.approx(0.5385, abs=1e-4)
    assert fair["Away"] == pytest.approx(0.4615, abs=1e-4)
    assert sum(fair.values()) == pytest.approx(1.0)


def test_vig_free_of_a_soccer_market_gives_the_draw_its_share() -> None:
    outcomes = [
        OddsOutcome(n, p, OddsFormat.DECIMAL) for n, p in [("Arsenal", 1.91), ("Chelsea", 4.2), ("Draw", 3.6)]
    ]
    # q = 0.5236 / 0.2381 / 0.2778, sum 1.0395
    fair = vig_free(outcomes)
    assert fair == pytest.approx({"Arsenal": 0.5037, "Chelsea": 0.2291, "Draw": 0.2672}, abs=1e-4)


def test_teams_of_reads_at_and_vs_subjects() -> None:
    assert teams_of("Dallas Cowboys at Philadelphia Eagles") == ("Dallas Cowboys", "Philadelphia Eagles")
    assert teams_of("Arsenal vs. Chelsea") == ("Arsenal", "Chelsea")
    assert teams_of("Arsenal VS Chelsea") == ("Arsenal", "Chelsea")
    assert teams_of("CPI") is None


# --------------------------------------------------------------------------------------- parsing
def test_parse_odds_reads_events_bookmakers_and_prices_of_the_nfl_fixture() -> None:
    events = parse_odds(fixture("odds_americanfootball_nfl_h2h_decimal.json"))
    assert [e.id for e in events][:1] == [EAGLES_GAME]
    eagles = events[0]
    assert (eagles.sport_key, eagles.home_team, eagles.away_team) == (
        NFL,
        "Philadelphia Eagles",
        "Dallas Cowboys",
    )
    assert eagles.commence_time == datetime(2026, 11, 29, 21, 25, tzinfo=UTC)
    assert [b.key for b in eagles.bookmakers] == ["draftkings", "fanduel", "betmgm"]
    h2h = eagles.bookmakers[0].market("h2h")
    assert h2h is not None
    assert [(o.name, o.price, o.odds_format) for o in h2h.outcomes] == [
        ("Dallas Cowboys", 2.1, OddsFormat.DECIMAL),
        ("Philadelphia Eagles", 1.8, OddsFormat.DECIMAL),
    ]
    assert events[2].bookmakers == ()


def test_parse_odds_keeps_the_soccer_draw_outcome() -> None:
    (match,) = parse_odds(fixture("odds_soccer_epl_h2h_decimal.json"))
    h2h = match.bookmakers[0].market("h2h")
    assert h2h is not None
    assert [o.name for o in h2h.outcomes] == ["Arsenal", "Chelsea", "Draw"]


def test_parse_odds_reads_an_american_format_answer() -> None:
    (eagles,) = parse_odds(fixture("odds_americanfootball_nfl_h2h_american.json"), "american")
    h2h = eagles.bookmakers[0].market("h2h")
    assert h2h is not None
    assert [(o.price, o.odds_format) for o in h2h.outcomes] == [(140, "american"), (-165, "american")]


def test_parse_odds_names_the_missing_field() -> None:
    payload = fixture("odds_americanfootball_nfl_h2h_decimal.json")
    del payload[0]["home_team"]
    with pytest.raises(MalformedPayload, match="home_team"):
        parse_odds(payload)


def test_parse_odds_rejects_a_price_that_is_not_a_number() -> None:
    payload = fixture("odds_americanfootball_nfl_h2h_decimal.json")
    payload[0]["bookmakers"][0]["markets"][0]["outcomes"][0]["price"] = "2.10"
    with pytest.raises(MalformedPayload, match="price"):
        parse_odds(payload)


def test_parse_odds_rejects_an_answer_that_is_not_a_list() -> None:
    with pytest.raises(MalformedPayload, match="list"):
        parse_odds({"message": "API key is not valid"})


# --------------------------------------------------------------------------------------- consensus
def test_consensus_is_the_mean_of_fresh_books_and_drops_the_stale_one() -> None:
    payload = fixture("odds_americanfootball_nfl_h2h_decimal.json")
    p, books, evidence = consensus(
        payload, EAGLES_GAME, "Philadelphia Eagles", max_age=timedelta(minutes=30), now=NOW
    )
    assert books == 2
    assert p == pytest.approx(CONSENSUS_EAGLES, abs=1e-4)
    assert evidence["vig_free_by_book"] == pytest.approx(
        {"draftkings": DRAFTKINGS_EAGLES, "fanduel": FANDUEL_EAGLES}, abs=1e-4
    )
    assert evidence["stale_books"] == ["betmgm"]
    assert evidence["as_of"] == "2026-11-29T16:55:12+00:00"


def test_consensus_keeps_an_old_book_when_max_age_allows_it() -> None:
    payload = fixture("odds_americanfootball_nfl_h2h_decimal.json")
    p, books, _ = consensus(payload, EAGLES_GAME, "Philadelphia Eagles", max_age=timedelta(hours=2), now=NOW)
    # BetMGM 1.50 / 2.60 -> q = 0.6667 / 0.3846, sum 1.0513 -> 0.6341
    assert books == 3
    assert p == pytest.approx((0.5385 + 0.5513 + 0.6341) / 3, abs=1e-4)


def test_consensus_finds_the_game_by_team_names_in_either_order_and_any_case() -> None:
    payload = fixture("odds_americanfootball_nfl_h2h_decimal.json")
    p, _, evidence = consensus(
        payload,
        ("PHILADELPHIA EAGLES", "dallas cowboys"),
        "dallas cowboys",
        max_age=timedelta(minutes=30),
        now=NOW,
    )
    assert evidence["event_id"] == EAGLES_GAME
    assert p == pytest.approx(1 - CONSENSUS_EAGLES, abs=1e-4)


def test_consensus_of_an_american_format_book() -> None:
    payload = fixture("odds_americanfootball_nfl_h2h_american.json")
    events = parse_odds(payload, "american")
    p, books, _ = consensus(
        events, EAGLES_GAME, "Philadelphia Eagles", max_age=timedelta(minutes=30), now=NOW
    )
    # -165 -> 165/265 = 0.6226, +140 -> 100/240 = 0.4167, sum 1.0393 -> 0.5991
    assert books == 1
    assert p == pytest.approx(0.5991, abs=1e-4)


def test_consensus_of_the_soccer_draw() -> None:
    payload = fixture("odds_soccer_epl_h2h_decimal.json")
    p, books, _ = consensus(payload, ("Arsenal", "Chelsea"), "Draw", max_age=timedelta(minutes=30), now=NOW)
    # per book: 0.2672, 0.2725, 0.2604
    assert books == 3
    assert p == pytest.approx(0.2667, abs=1e-4)


def test_consensus_without_a_fresh_book_raises_no_consensus() -> None:
    payload = fixture("odds_americanfootball_nfl_h2h_decimal.json")
    with pytest.raises(NoConsensus, match="no bookmaker"):
        consensus(payload, EAGLES_GAME, "Philadelphia Eagles", max_age=timedelta(minutes=1), now=NOW)


def test_consensus_for_a_game_not_listed_raises_no_consensus() -> None:
    payload = fixture("odds_americanfootball_nfl_h2h_decimal.json")
    with pytest.raises(NoConsensus, match="no game"):
        consensus(
            payload, ("New York Jets", "Buffalo Bills"), "Buffalo Bills", max_age=timedelta(hours=1), now=NOW
        )


# --------------------------------------------------------------------------------------- the source over HTTP
def test_estimate_prices_a_game_winner_from_the_books_consensus(fake: FakeOddsApi) -> None:
    odds = source(fake)
    result = run(odds, EAGLES_WIN)
    assert isinstance(result, SourceEstimate)
    assert result.probability == pytest.approx(CONSENSUS_EAGLES, abs=1e-4)
    assert result.as_of == datetime(2026, 11, 29, 16, 55, 12, tzinfo=UTC)
    assert result.evidence["books_used"] == 2
    assert result.evidence["requests_remaining"] == 499
    (request,) = fake.odds_requests
    assert request.path == f"/v4/sports/{NFL}/odds"
    assert request.query == {
        "apiKey": API_KEY,
        "regions": "us",
        "markets": "h2h",
        "oddsFormat": "decimal",
        "dateFormat": "iso",
    }


def test_health_notes_the_quota_left_after_a_success(fake: FakeOddsApi) -> None:
    odds = source(fake)
    run(odds, EAGLES_WIN)
    health = odds.health()
    assert health.ok and health.last_success_at == NOW
    assert health.requests_remaining == 499
    assert health.to_dict()["requests_remaining"] == 499
    assert health.requests_today == 1


def test_second_contract_of_the_same_sport_is_served_from_the_cache(fake: FakeOddsApi) -> None:
    odds = source(fake)
    eagles = run(odds, EAGLES_WIN)
    cowboys = run(
        odds, game("Dallas Cowboys at Philadelphia Eagles", "Dallas Cowboys"), NOW + timedelta(minutes=2)
    )
    assert isinstance(eagles, SourceEstimate) and isinstance(cowboys, SourceEstimate)
    assert eagles.probability + cowboys.probability == pytest.approx(1.0)
    assert len(fake.odds_requests) == 1


def test_concurrent_contracts_of_one_sport_make_one_request(fake: FakeOddsApi) -> None:
    odds = source(fake)
    contracts = [EAGLES_WIN, game("Dallas Cowboys at Philadelphia Eagles", "Dallas Cowboys")]

    async def both() -> list[Any]:
        return list(await asyncio.gather(*(odds.estimate(c, NOW) for c in contracts)))

    results = asyncio.run(both())
    assert all(isinstance(r, SourceEstimate) for r in results)
    assert len(fake.odds_requests) == 1


def test_soccer_contract_on_the_draw_is_priced_from_the_second_sport(fake: FakeOddsApi) -> None:
    odds = source(fake)
    result = run(odds, game("Chelsea at Arsenal", "Draw"))
    assert isinstance(result, SourceEstimate)
    assert result.probability == pytest.approx(0.2667, abs=1e-4)
    assert [r.path for r in fake.odds_requests] == [f"/v4/sports/{NFL}/odds", f"/v4/sports/{EPL}/odds"]


def test_a_game_is_matched_on_its_new_york_date(fake: FakeOddsApi) -> None:
    odds = source(fake)
    monday_night = game("Green Bay Packers at Detroit Lions", "Detroit Lions", day=date(2026, 11, 30))
    wrong_day = game("Green Bay Packers at Detroit Lions", "Detroit Lions", day=date(2026, 12, 1))
    # 01:15 UTC on Dec 1 is 20:15 on Nov 30 in New York; DraftKings 1.50 / 2.70 -> 0.6429
    priced = run(odds, monday_night)
    assert isinstance(priced, SourceEstimate)
    assert priced.probability == pytest.approx(0.6429, abs=1e-4)
    assert isinstance(run(odds, wrong_day), NoEstimate)


def test_unknown_team_names_give_no_estimate(fake: FakeOddsApi) -> None:
    result = run(source(fake), game("Dallas Cowbois at Philadelphia Eagles", "Philadelphia Eagles"))
    assert isinstance(result, NoEstimate)
    assert "no game" in result.reason


def test_a_game_no_book_quotes_gives_no_estimate(fake: FakeOddsApi) -> None:
    result = run(
        source(fake), game("Denver Broncos at Kansas City Chiefs", "Kansas City Chiefs", date(2026, 12, 3))
    )
    assert isinstance(result, NoEstimate)
    assert "no bookmaker" in result.reason


def test_a_contract_outside_game_winners_gives_no_estimate_without_a_request(fake: FakeOddsApi) -> None:
    weather = replace(EAGLES_WIN, domain=Domain.WEATHER, measure=Measure.DAILY_HIGH_F, subject="CHI")
    assert isinstance(run(source(fake), weather), NoEstimate)
    assert fake.odds_requests == []


def test_a_bad_key_gives_no_estimate_without_leaking_the_key(fake: FakeOddsApi) -> None:
    secret = "wrong-key-0f3c9a"
    odds = source(fake, api_key=secret)
    result = run(odds, EAGLES_WIN)
    assert isinstance(result, NoEstimate)
    assert "401" in result.reason and "API key is not valid" in result.reason
    health = odds.health()
    assert not health.ok
    assert secret not in result.reason and secret not in str(health.to_dict())


def test_a_429_pauses_the_source_without_further_requests(fake: FakeOddsApi) -> None:
    odds = source(fake)
    fake.server.inject(Fault(status=429, retry_after="120"))
    first = run(odds, EAGLES_WIN)
    assert isinstance(first, NoEstimate) and "429" in first.reason
    paused = run(odds, EAGLES_WIN, NOW + timedelta(seconds=60))
    assert isinstance(paused, NoEstimate) and "paused" in paused.reason
    assert len(fake.odds_requests) == 1
    assert isinstance(run(odds, EAGLES_WIN, NOW + timedelta(minutes=3)), SourceEstimate)


def test_a_5xx_is_retried_then_succeeds(fake: FakeOddsApi) -> None:
    odds = source(fake)
    fake.server.inject(Fault(status=503))
    result = run(odds, EAGLES_WIN)
    assert isinstance(result, SourceEstimate)
    assert len(fake.odds_requests) == 2
    assert odds.health().ok


def test_the_daily_budget_stops_requests_once_spent(fake: FakeOddsApi) -> None:
    odds = source(fake, per_day=1)
    assert isinstance(run(odds, EAGLES_WIN), SourceEstimate)
    soccer = run(odds, game("Chelsea at Arsenal", "Arsenal"))  # needs the EPL answer: a second request
    assert isinstance(soccer, NoEstimate) and "budget" in soccer.reason
    assert len(fake.odds_requests) == 1
    health = odds.health()
    assert health.requests_today == 1 and health.daily_budget == 1 and not health.ok


def test_the_api_key_stays_out_of_the_cache_keys(fake: FakeOddsApi) -> None:
    fetcher = JsonFetcher("sportsbook_odds", cache_seconds=300)
    OddsApiSource(API_KEY, fetcher, [NFL], base_url=fake.url)
    assert "apiKey" in fetcher._session_now().settings.ignored_parameters  # type: ignore[attr-defined]
