"""The real prediction-market sources of `scrapers/`, built from the configuration and the keys.

Used for event-trading bots on real venues (Kalshi, Polymarket): the weather models (GFS
ensemble through Open-Meteo, the NWS point forecast) with the settlement-station table, the
Cleveland Fed's inflation nowcast, FRED, GDPNow and the CPI base rate when `FRED_API_KEY` is
set, the sportsbook odds when `ODDS_API_KEY` and the sports to read are set, and the whale
tracker on Kalshi's public trade tape. Each answers through a `JsonFetcher`: its HTTP cache is
a SQLite file under `<var_dir>/http_cache/`, and its daily budget and 429 pause are its own
(the CPI base rate reads through FRED's). A source without its key is simply not built (the
dashboard's source list says which run); none makes data up.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

from config.schema import PredictionSettings
from scrapers.base import ContractSource, JsonFetcher
from scrapers.economics.cleveland_fed import ClevelandFedNowcastSource
from scrapers.economics.cpi_base_rate import CpiBaseRateSource
from scrapers.economics.fred import FredClient, FredSource
from scrapers.economics.gdpnow import GdpNowSource
from scrapers.sports.odds import OddsApiSource
from scrapers.weather.nws import NwsForecastSource
from scrapers.weather.open_meteo import GfsEnsembleSource
from scrapers.weather.stations import load_stations
from scrapers.whales import WhaleTracker
from utils.request_budget import RequestBudget

EASTERN = ZoneInfo("America/New_York")


def fetcher(name: str, var_dir: Path, cache_seconds: float, per_day: int | None = None) -> JsonFetcher:
    return JsonFetcher(
        name,
        cache_path=var_dir / "http_cache" / f"{name}.sqlite",
        cache_seconds=cache_seconds,
        budget=None if per_day is None else RequestBudget(per_day=per_day, tz=EASTERN),
    )


def real_sources(
    settings: PredictionSettings, settings_path: Path, environ: Mapping[str, str], var_dir: Path
) -> list[ContractSource]:
    """Every real source the configuration and the environment allow (see the module docstring)."""
    stations = load_stations(settings_path.parent / settings.stations)
    sources: list[ContractSource] = [
        # GEFS runs four times a day; an hour of cache per station and day is plenty
        GfsEnsembleSource(stations, fetcher("gfs_ensemble", var_dir, 3600, per_day=5_000)),
        NwsForecastSource(
            stations,
            fetcher("nws_forecast", var_dir, 1800, per_day=5_000),
            user_agent=settings.nws_user_agent,
        ),
        ClevelandFedNowcastSource(fetcher("cleveland_fed", var_dir, 3600, per_day=500)),
        WhaleTracker(
            fetcher("whale_tracker", var_dir, 120, per_day=20_000), base_url=settings.kalshi_tape_url
        ),
    ]
    fred_key = environ.get(settings.fred_key_env, "").strip()
    if fred_key:
        client = FredClient(fred_key, fetcher("fred", var_dir, 3600, per_day=2_000))
        fred = FredSource(client)
        sources.extend([fred, GdpNowSource(client), CpiBaseRateSource(fred)])
    odds_key = environ.get(settings.odds_key_env, "").strip()
    if odds_key and settings.odds_sports:
        odds_fetcher = fetcher("sportsbook_odds", var_dir, 1800, per_day=settings.odds_requests_per_day)
        sources.append(OddsApiSource(odds_key, odds_fetcher, settings.odds_sports))
    return sources
