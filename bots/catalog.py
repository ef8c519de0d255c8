"""The bots the registry can name: short names for the built-in ones, or any `module:Class` path."""

from __future__ import annotations

import difflib
import importlib
import inspect
from dataclasses import dataclass

from bots.base import Bot


@dataclass(frozen=True, slots=True)
class _CatalogEntry:
    path: str
    summary: str


_BUILT_IN: dict[str, _CatalogEntry] = {
    "rsi2": _CatalogEntry(
        "bots.rsi2:Rsi2Bot", "Connors RSI-2: buy a sharp pullback in an uptrend, sell the bounce"
    ),
    "dual_momentum": _CatalogEntry(
        "bots.dual_momentum:DualMomentumBot",
        "Antonacci dual momentum: hold the basket's strongest instrument while its momentum is positive",
    ),
    "bollinger": _CatalogEntry(
        "bots.bollinger:BollingerBot",
        "Bollinger reversion: buy below the lower band, sell at the middle band",
    ),
    "sma_crossover": _CatalogEntry(
        "bots.sma_crossover:SmaCrossoverBot",
        "SMA crossover: long while the fast moving average is above the slow one",
    ),
    "donchian": _CatalogEntry(
        "bots.donchian:DonchianBot",
        "Donchian breakout: buy a close above the last bars' highest high, sell below a shorter channel",
    ),
    "macd_trend": _CatalogEntry(
        "bots.macd_trend:MacdTrendBot",
        "MACD trend: buy the MACD line's cross above its signal line in an uptrend, sell the cross back",
    ),
    "rsi_extremes": _CatalogEntry(
        "bots.aggressive.rsi_extremes:RsiExtremesBot",
        "RSI extremes scalper: buy a deeply oversold fast RSI, sell the bounce to its short average",
    ),
    "multi_momentum": _CatalogEntry(
        "bots.aggressive.multi_momentum:MultiMomentumBot",
        "Multi-momentum scalper: buy when returns over three lookbacks agree, sell when the fastest turns",
    ),
    "grid": _CatalogEntry(
        "bots.fleet.crypto.grid_trader:GridTraderBot",
        "Range grid: buy a fall two ATR steps under the moving centre, sell back at the centre",
    ),
    "weekly_momentum": _CatalogEntry(
        "bots.fleet.crypto.weekly_momentum:WeeklyMomentumBot",
        "Weekly momentum: long while the week's return is positive and the close above its average",
    ),
    "pairs": _CatalogEntry(
        "bots.pairs:PairsBot",
        "Pairs: trade a cointegrated pair's spread back to its mean, both legs together",
    ),
    "fomc_drift": _CatalogEntry(
        "bots.fomc_drift:FomcDriftBot",
        "Pre-FOMC drift: long an equity index for the 24 hours before each scheduled FOMC statement",
    ),
    "longshot_fader": _CatalogEntry(
        "bots.fleet.kalshi.longshot_fader:LongshotFaderBot",
        "Longshot fader: buy the NO of contracts whose YES the crowd overprices at a few cents",
    ),
    "cross_venue_arbitrage": _CatalogEntry(
        "bots.polymarket.arbitrage:CrossVenueArbitrageBot",
        "Cross-venue arbitrage: YES on one venue and NO on the other of one question, under $1 after fees",
    ),
    "market_maker": _CatalogEntry(
        "bots.polymarket.market_maker:MarketMakerBot",
        "Market maker: rest a bid and an offer around the sources' fair value, leaning against inventory",
    ),
    "event_trading": _CatalogEntry(
        "bots.event_trading.bot:EventTradingBot",
        "Prediction markets: buy the YES its domain sources agree is cheap, through the 3-gate entry",
    ),
}


def known_bots() -> dict[str, str]:
    """Short name -> one-line description of each built-in bot, for the docs and the dashboard."""
    return {name: entry.summary for name, entry in sorted(_BUILT_IN.items())}


def load_bot_class(name: str) -> type[Bot]:
    """The Bot subclass a registry `class` value names: a short name or `package.module:ClassName`.

    Raises ValueError, with what was expected, for an unknown short name, a module that
    does not import, a missing attribute or something that is not a concrete Bot.
    """
    entry = _BUILT_IN.get(name)
    if entry is not None:
        return _import_bot(entry.path, name)
    if ":" not in name:
        close = difflib.get_close_matches(name, list(_BUILT_IN), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(
            f"unknown bot class {name!r} ({hint}known short names: {', '.join(sorted(_BUILT_IN))}; "
            "or give a 'package.module:ClassName' path)"
        )
    return _import_bot(name, name)


def _import_bot(path: str, name: str) -> type[Bot]:
    module_name, _, class_name = path.partition(":")
    if not module_name or not class_name.isidentifier():
        raise ValueError(f"bot class {name!r} is not a 'package.module:ClassName' path")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"bot class {name!r}: cannot import module {module_name!r} ({exc})") from exc
    found = getattr(module, class_name, None)
    if found is None:
        raise ValueError(f"bot class {name!r}: module {module_name!r} has no {class_name!r}")
    if not (inspect.isclass(found) and issubclass(found, Bot)):
        raise ValueError(f"bot class {name!r}: {class_name!r} is not a subclass of bots.base.Bot")
    if inspect.isabstract(found):
        raise ValueError(f"bot class {name!r}: {class_name!r} is abstract (it must implement on_tick)")
    return found
