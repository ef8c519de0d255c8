"""Weather sources for temperature markets: settlement stations, climate-day windows, the GFS
ensemble (Open-Meteo) and the NWS forecast, each pricing a contract's P(YES)."""

from scrapers.weather.climate_day import climate_day_window, clock_day_window
from scrapers.weather.nws import NwsForecastSource
from scrapers.weather.open_meteo import GfsEnsembleSource
from scrapers.weather.probability import SmallSampleCorrection, ensemble_probability, normal_probability
from scrapers.weather.stations import DayRule, Station, StationTable, StationTableError, load_stations

__all__ = [
    "DayRule",
    "GfsEnsembleSource",
    "NwsForecastSource",
    "SmallSampleCorrection",
    "Station",
    "StationTable",
    "StationTableError",
    "climate_day_window",
    "clock_day_window",
    "ensemble_probability",
    "load_stations",
    "normal_probability",
]
