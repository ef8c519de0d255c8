"""Config errors stop start-up with the file, the key and what was expected."""

from pathlib import Path

import pytest

from bots.catalog import load_bot_class
from config.loader import DEFAULT_CONFIG, ConfigError, load_config

DEFAULT_REGISTRY = DEFAULT_CONFIG.with_name("bots.toml")


def write_config(tmp_path: Path, settings_extra: str = "", registry: str | None = None) -> Path:
    settings = DEFAULT_CONFIG.read_text() + "\n" + settings_extra
    settings = settings.replace('registry = "bots.toml"', f'registry = "{tmp_path / "bots.toml"}"')
    (tmp_path / "settings.toml").write_text(settings)
    (tmp_path / "bots.toml").write_text(registry if registry is not None else DEFAULT_REGISTRY.read_text())
    return tmp_path / "settings.toml"


BOT = """
[[bots]]
name = "b1"
class = "rsi2"
instruments = ["SPY"]
venue = "sim-stocks"
schedule = {{ interval_seconds = 60 }}
{extra}
"""


def test_default_configuration_loads() -> None:
    config = load_config()
    assert len(config.registry.bots) >= 50
    assert {v for b in config.registry.bots for v in b.venues} == {
        "sim-stocks",
        "sim-crypto",
        "sim-fx",
        "sim-kalshi",
        "sim-polymarket",
    }
    # the fleet (issue 10's 19 less its two controllers): crypto 10 (a grid trader only in the sideways
    # regime among them), Kalshi 4 (the two event-trading bots, the longshot fader and the FOMC drift,
    # which trades the index), prediction 2 (the Kalshi/Polymarket arbitrage) and forex 1
    fleet = [b for b in config.registry.bots if b.fleet]
    assert len(fleet) == 17
    assert len([b for b in fleet if b.venue == "sim-crypto"]) == 10
    kalshi = {b.bot_class for b in fleet if b.venue == "sim-kalshi" and b.second_venue is None}
    assert kalshi == {"event_trading", "longshot_fader"}
    assert len([b for b in fleet if b.bot_class == "fomc_drift"]) == 1
    assert [b.second_venue for b in fleet if b.bot_class == "cross_venue_arbitrage"] == ["sim-polymarket"] * 2
    assert len([b for b in fleet if b.venue == "sim-fx"]) == 1
    # the single event-trading bots: weather, economics and sports each have one
    domains = [b.params.get("domains") for b in config.registry.bots if b.bot_class == "event_trading"]
    assert sorted(str(d) for d in domains) == ["['economics']", "['sports']", "['weather']"]
    assert all(b.regimes == ["sideways"] for b in fleet if b.bot_class == "grid")
    # every class a default bot names loads and accepts its params
    for entry in config.registry.bots:
        load_bot_class(entry.bot_class)


def test_misspelt_registry_key_is_refused_naming_file_and_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, registry=BOT.format(extra='instrumets = ["QQQ"]'))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert error.file.endswith("bots.toml")
    assert error.key == "bots[0].instrumets"
    assert "unknown key" in str(error) and "instruments" in str(error)


def test_misspelt_settings_key_is_refused(tmp_path: Path) -> None:
    settings = DEFAULT_CONFIG.read_text().replace("daily_loss_limit_usd", "daily_loss_limt_usd")
    (tmp_path / "s.toml").write_text(
        settings.replace('registry = "bots.toml"', f'registry = "{DEFAULT_REGISTRY}"')
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "s.toml")
    assert caught.value.key == "risk.daily_loss_limt_usd"
    assert "daily_loss_limit_usd" in str(caught.value)


def test_wrong_type_names_the_key_and_the_value(tmp_path: Path) -> None:
    settings = DEFAULT_CONFIG.read_text().replace(
        "max_concurrent_positions = 25", 'max_concurrent_positions = "many"'
    )
    (tmp_path / "s.toml").write_text(
        settings.replace('registry = "bots.toml"', f'registry = "{DEFAULT_REGISTRY}"')
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "s.toml")
    assert caught.value.key == "risk.max_concurrent_positions"
    assert "'many'" in str(caught.value)


def test_impossible_value_is_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, registry=BOT.format(extra="").replace("interval_seconds = 60", "interval_seconds = 5")
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "bots[0].schedule.interval_seconds"
    assert "10" in caught.value.problem


def test_unknown_timezone_is_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        registry=BOT.format(extra="").replace(
            "interval_seconds = 60", 'cron = "0 9 * * mon-fri", timezone = "Mars/Olympus"'
        ),
    )
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        load_config(path)


def test_unknown_venue_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, registry=BOT.format(extra="").replace("sim-stocks", "nyse"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "bots[0].venue"


def test_simulated_venue_cannot_be_live(tmp_path: Path) -> None:
    path = write_config(tmp_path, registry=BOT.format(extra='mode = "live"'))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "bots[0].mode"


def test_unknown_bot_class_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, registry=BOT.format(extra="").replace('"rsi2"', '"rsi3"'))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "bots[0].class"


def test_duplicate_bot_names_are_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, registry=BOT.format(extra="") + BOT.format(extra=""))
    with pytest.raises(ConfigError, match="used twice"):
        load_config(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_timeframe_the_simulated_world_cannot_serve_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, registry=BOT.format(extra="timeframe_seconds = 45"))
    with pytest.raises(ConfigError, match="multiple of 60") as caught:
        load_config(path)
    assert caught.value.key == "bots[0].timeframe_seconds"


def test_misspelt_bot_parameter_is_refused_when_the_registry_is_built(tmp_path: Path) -> None:
    from runtime.registry import build_bots
    from simulation.instruments import SIMULATED_SPECS

    path = write_config(tmp_path, registry=BOT.format(extra="[bots.params]\nentry_treshold = 5"))
    config = load_config(path)
    by_venue: dict[str, dict[str, object]] = {}
    for instrument in (spec.instrument for spec in SIMULATED_SPECS):
        by_venue.setdefault(instrument.venue, {})[instrument.symbol] = instrument
    with pytest.raises(ConfigError, match="entry_treshold") as caught:
        build_bots(config, by_venue)  # type: ignore[arg-type]
    assert caught.value.key == "bots[0].params"
    assert caught.value.file == str(path.with_name("bots.toml"))


def settings_with(tmp_path: Path, old: str, new: str) -> Path:
    settings = DEFAULT_CONFIG.read_text()
    assert old in settings
    (tmp_path / "s.toml").write_text(
        settings.replace(old, new).replace('registry = "bots.toml"', f'registry = "{DEFAULT_REGISTRY}"')
    )
    return tmp_path / "s.toml"


def test_a_regime_fit_window_shorter_than_the_features_need_is_refused(tmp_path: Path) -> None:
    path = settings_with(tmp_path, "fit_window_bars = 1000", "fit_window_bars = 150\nvolatility_window = 60")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "regimes"
    assert "fit_window_bars must be at least 160" in caught.value.problem


def test_an_unreadable_retraining_schedule_is_refused(tmp_path: Path) -> None:
    path = settings_with(tmp_path, 'retrain_cron = "0 3 * * sat"', 'retrain_cron = "every saturday"')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "ml.retrain_cron" and "crontab" in caught.value.problem


def test_training_on_venue_bars_needs_an_instrument_for_each_asset(tmp_path: Path) -> None:
    path = settings_with(
        tmp_path, 'source = "simulated"', 'source = "venue"\ninstruments = { BTC = "sim-crypto:BTC/USD" }'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "ml" and "needs instruments for ETH, SOL" in caught.value.problem


def test_an_asset_the_training_source_cannot_serve_is_refused_when_the_daemon_is_built(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    from runtime.wiring import build_simulated, with_paths

    path = settings_with(tmp_path, 'assets = ["BTC", "ETH", "SOL"]', 'assets = ["BTC", "DOGE"]')
    config = with_paths(load_config(path), database=tmp_path / "t.sqlite", var_dir=tmp_path / "var")
    with pytest.raises(ConfigError) as caught:
        build_simulated(config, datetime(2026, 3, 2, tzinfo=UTC))
    assert caught.value.key == "ml.assets" and "DOGE" in caught.value.problem
