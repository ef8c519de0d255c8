"""The simulated world's games: Kalshi game-winner markets with hidden winners, and two noisy views."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from domain.contract_parsing import parse_kalshi_ticker
from domain.contracts import Domain, Measure
from scrapers.base import SourceEstimate
from simulation.prediction_market import SimulatedPredictionMarket
from simulation.prediction_sources import WorldForecasts, simulated_sources
from simulation.sports_world import GAMES_PER_DAY, SOURCE, TEAMS, sports_days
from utils.clock import SimulatedClock

START = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


def test_a_day_of_games_pairs_distinct_teams_and_each_game_pays_exactly_one_market() -> None:
    games = list(sports_days(date(2026, 11, 29), 1, seed=7))
    assert len(games) == GAMES_PER_DAY
    playing = [team for g in games for team in (g.away, g.home)]
    assert len(set(playing)) == len(playing) and set(playing) <= set(TEAMS)
    for game in games:
        away, home = game.markets
        assert [away.outcome_yes, home.outcome_yes] == [not game.home_wins, game.home_wins]
        assert away.contract.ticker == f"KXNBAGAME-26NOV29{game.away}{game.home}-{game.away}"


def test_a_games_markets_are_what_the_kalshi_parser_reads_from_their_tickers() -> None:
    [game, _] = list(sports_days(date(2026, 11, 29), 1, seed=7))
    for market in game.markets:
        contract = market.contract
        parsed = parse_kalshi_ticker("sim-kalshi", contract.ticker, None, contract.title)
        assert parsed.domain is Domain.SPORTS and parsed.measure is Measure.GAME_WINNER
        assert contract.outcome in (game.away, game.home) and contract.resolution_source == SOURCE
        assert contract.event == game.event_ticker


def test_the_same_day_lists_the_same_games_whatever_day_the_world_starts() -> None:
    early = [g for g in sports_days(date(2026, 11, 27), 5, seed=7) if g.day == date(2026, 11, 30)]
    late = list(sports_days(date(2026, 11, 30), 1, seed=7))
    assert early == late


def test_over_many_games_the_sportsbook_is_closer_to_the_hidden_odds_than_the_crowd() -> None:
    games = list(sports_days(date(2026, 1, 1), 400, seed=21))
    truth = np.array([g.home_probability for g in games])
    book = np.array([g.sportsbook_home for g in games])
    rating = np.array([g.rating_home for g in games])
    crowd = np.array([float(g.markets[1].yes_bid + g.markets[1].yes_ask) / 2 for g in games])
    # mean squared distance from each game's hidden home-win probability, over 800 games (the
    # outcomes' own coin flips would swamp a Brier comparison at this size)
    book_error, rating_error, crowd_error = (float(np.mean((x - truth) ** 2)) for x in (book, rating, crowd))
    assert book_error < rating_error < crowd_error


def test_with_sports_the_venue_lists_trades_and_settles_the_games() -> None:
    clock = SimulatedClock(START)
    market = SimulatedPredictionMarket(clock, seed=7, days=2, sports=True)
    plain = SimulatedPredictionMarket(SimulatedClock(START), seed=7, days=2)
    assert market.games and not plain.games
    assert len(market.instruments()) == len(plain.instruments()) + len(market.games) * 2
    game = next(g for g in market.games if g.day == START.date() + timedelta(days=1))
    home = game.markets[1]
    key = f"sim-kalshi:{home.contract.ticker}"
    # open from 12:00 UTC on game day to 04:00 UTC after it, settled an hour later
    clock.advance((datetime.combine(game.day, datetime.min.time(), UTC) - START).total_seconds() + 13 * 3600)
    listed = market.listed(key)
    assert listed is not None and asyncio.run(market.quote(listed.instrument)) is not None
    settles = datetime.combine(game.day + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=5)
    [settled] = [s for s in market.settlements(None, settles) if s.instrument_key == key]
    assert settled.outcome_yes is game.home_wins and settled.settled_at == settles


def test_the_simulated_sportsbook_and_rating_price_each_team_from_the_home_sides_view() -> None:
    clock = SimulatedClock(START)
    market = SimulatedPredictionMarket(clock, seed=7, days=2, sports=True)
    world = WorldForecasts(market.weather, market.cpi, market.games)
    sources = {s.name: s for s in simulated_sources(world)}  # no market: the first view, unlearned
    game = market.games[0]
    away, home = game.markets
    book = sources["sim_sportsbook"]
    at_home = asyncio.run(book.estimate(home.contract, START))
    at_away = asyncio.run(book.estimate(away.contract, START))
    assert isinstance(at_home, SourceEstimate) and isinstance(at_away, SourceEstimate)
    assert at_home.probability == pytest.approx(game.sportsbook_home)
    assert at_away.probability == pytest.approx(1 - game.sportsbook_home)
    rating = asyncio.run(sources["sim_power_rating"].estimate(home.contract, START))
    assert isinstance(rating, SourceEstimate) and rating.probability == pytest.approx(game.rating_home)
    # a weather contract is outside their domain
    weather = market.weather[0].markets[0].contract
    assert not isinstance(asyncio.run(book.estimate(weather, START)), SourceEstimate)
    assert Decimal(0) < home.yes_bid < home.yes_ask < Decimal(1)
