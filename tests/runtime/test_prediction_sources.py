"""The real prediction-market sources are built from the configuration and the keys in the
environment: a source without its key is not built, and every one caches under the var dir."""

from __future__ import annotations

from pathlib import Path

from config.loader import load_config
from runtime.prediction_sources import real_sources
from scrapers.base import JsonFetcher


def names(environ: dict[str, str], tmp_path: Path, **overrides: object) -> list[str]:
    config = load_config()
    settings = config.settings.prediction.model_copy(update=overrides)
    return [s.name for s in real_sources(settings, config.settings_path, environ, tmp_path)]


def test_without_keys_only_the_keyless_sources_run(tmp_path: Path) -> None:
    assert names({}, tmp_path) == ["gfs_ensemble", "nws_forecast", "cleveland_fed", "whale_tracker"]


def test_a_fred_key_adds_fred_gdpnow_and_the_cpi_base_rate_and_odds_need_a_key_and_their_sports(
    tmp_path: Path,
) -> None:
    assert names({"FRED_API_KEY": "k"}, tmp_path)[-3:] == ["fred", "gdpnow", "cpi_base_rate"]
    assert "sportsbook_odds" not in names({"ODDS_API_KEY": "k"}, tmp_path)  # no sports configured
    with_sports = names({"ODDS_API_KEY": "k"}, tmp_path, odds_sports=["americanfootball_nfl"])
    assert with_sports[-1] == "sportsbook_odds"
    assert "sportsbook_odds" not in names({"ODDS_API_KEY": "  "}, tmp_path, odds_sports=["basketball_nba"])


def test_each_source_caches_in_its_own_file_under_the_var_dir(tmp_path: Path) -> None:
    config = load_config()
    environ = {"FRED_API_KEY": "k"}
    built = real_sources(config.settings.prediction, config.settings_path, environ, tmp_path)
    fetchers = [
        value for source in built for value in vars(source).values() if isinstance(value, JsonFetcher)
    ]
    paths = {f.cache_path for f in fetchers}
    assert len(paths) == len(fetchers) >= 4
    assert all(p is not None and p.parent == tmp_path / "http_cache" for p in paths)
