"""The simulated prediction world's sports: NBA-style games with hidden winners, listed as Kalshi's.

Each day `GAMES_PER_DAY` games are drawn among `TEAMS` (one generator per day, seeded by
(seed, day, `STREAM`), apart from the weather's and CPI's draws). A game's home side wins with
probability p = expit(`HOME_EDGE` + Normal(0, `STRENGTH_SD`)) in logit terms: home advantage and
the two teams' difference. What each party knows is a noisy view of p in logit space:

- the sharp sportsbooks' de-vigged price (`SPORTSBOOK_SD`), what The Odds API's consensus is in
  the real daemon;
- a power-rating model (`RATING_SD`), independent of the books;
- the crowd (`CROWD_SD`), which then prices with the favourite-longshot bias of the world
  (`longshot_price`).

A game is two Kalshi markets, one per team (`KXNBAGAME-26NOV29BOSLAL-BOS`: YES if Boston wins),
settled on the league's official box score. The games tip off in the evening, New York time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from domain.contract_parsing import parse_kalshi_ticker
from simulation.prediction_world import VENUE, SimulatedMarket, crowd_quote, date_token

SERIES = "KXNBAGAME"
TEAMS = ("BOS", "LAL", "DEN", "MIA", "NYK", "GSW", "PHX", "MIL")
GAMES_PER_DAY = 2
HOME_EDGE = 0.25  # logit: the home side wins about 56 % of even games
STRENGTH_SD = 0.8  # logit: how far apart two teams are
SPORTSBOOK_SD = 0.15  # logit: the sharp books' miss
RATING_SD = 0.30  # logit: a power-rating model's miss
CROWD_SD = 0.35  # logit: the crowd's miss
SOURCE = "NBA official box score"
STREAM = 1000  # the third seed word of a day's games: apart from the weather's (city index)


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass(frozen=True, slots=True)
class SportsGame:
    """One game: who plays where, how likely the home side wins, who did, and the two markets."""

    day: date
    away: str
    home: str
    home_probability: float  # hidden: the truth the views are noisy about
    home_wins: bool  # hidden: the venue settles on it
    sportsbook_home: float  # the sharp books' de-vigged probability of a home win
    rating_home: float  # the power-rating model's
    markets: tuple[SimulatedMarket, ...]

    @property
    def event_ticker(self) -> str:
        return f"{SERIES}-{date_token(self.day)}{self.away}{self.home}"

    def probability_of(self, team: str, home_probability: float) -> float | None:
        """`home_probability` turned into `team`'s chance (None for a team not in this game)."""
        if team == self.home:
            return home_probability
        if team == self.away:
            return 1.0 - home_probability
        return None


def sports_game(day: date, away: str, home: str, rng: np.random.Generator) -> SportsGame:
    logit = HOME_EDGE + float(rng.normal(0.0, STRENGTH_SD))
    home_probability = _expit(logit)
    home_wins = bool(rng.random() < home_probability)
    sportsbook = _expit(logit + float(rng.normal(0.0, SPORTSBOOK_SD)))
    rating = _expit(logit + float(rng.normal(0.0, RATING_SD)))
    crowd = _expit(logit + float(rng.normal(0.0, CROWD_SD)))
    event = f"{SERIES}-{date_token(day)}{away}{home}"
    markets = []
    for team, belief, won in ((away, 1.0 - crowd, not home_wins), (home, crowd, home_wins)):
        ticker = f"{event}-{team}"
        title = f"{team} wins {away} at {home} on {day:%b %d, %Y}"
        contract = replace(parse_kalshi_ticker(VENUE, ticker, None, title), resolution_source=SOURCE)
        bid, ask = crowd_quote(belief)
        markets.append(SimulatedMarket(contract, bid, ask, won))
    return SportsGame(day, away, home, home_probability, home_wins, sportsbook, rating, tuple(markets))


def sports_days(start: date, days: int, seed: int) -> Iterator[SportsGame]:
    """Every game of `days` days from `start`, each day from its own generator (a venue started on
    any day lists the same games for the same day)."""
    for offset in range(days):
        day = start + timedelta(days=offset)
        rng = np.random.default_rng([seed, day.toordinal(), STREAM])
        order = rng.permutation(len(TEAMS))
        for game in range(GAMES_PER_DAY):
            away, home = TEAMS[int(order[2 * game])], TEAMS[int(order[2 * game + 1])]
            yield sports_game(day, away, home, rng)
