"""BotRegistry: the configured bots, built and checked against the venues' instruments."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from apscheduler.triggers.base import BaseTrigger

from bots.base import Bot, BotSpec
from bots.catalog import load_bot_class
from config.loader import ConfigError, LoadedConfig
from config.schema import BotEntry, CronSchedule
from domain.instruments import Instrument
from domain.regimes import Regime
from runtime.scheduling import cron_trigger, interval_trigger
from utils.clock import Clock


@dataclass(frozen=True, slots=True)
class RegisteredBot:
    bot: Bot
    entry: BotEntry

    @property
    def name(self) -> str:
        return self.bot.name

    @property
    def schedule_text(self) -> str:
        schedule = self.entry.schedule
        if isinstance(schedule, CronSchedule):
            return f"cron {schedule.cron} ({schedule.timezone or 'system timezone'})"
        return f"every {schedule.interval_seconds} s"

    def take_listed(self, listed: Iterable[Instrument]) -> list[Instrument]:
        """Add the newly listed markets of the bot's venue that its patterns match; those added.

        A market named literally in the registry was listed at the start; only patterns
        (`KXHIGH*`) reach markets a venue lists later."""
        entry = self.entry
        patterns = {
            venue: [symbol for symbol in symbols if is_pattern(symbol)]
            for venue, symbols in zip(
                entry.venues, (entry.instruments, entry.second_instruments), strict=False
            )
        }
        held = {instrument.key for instrument in self.bot.spec.instruments}
        taken = [
            instrument
            for instrument in sorted(listed, key=lambda i: i.symbol)
            if instrument.key not in held
            and any(fnmatch.fnmatchcase(instrument.symbol, p) for p in patterns.get(instrument.venue, ()))
        ]
        if taken:
            self.bot.spec = replace(self.bot.spec, instruments=self.bot.spec.instruments + tuple(taken))
        return taken

    def trigger(self, clock: Clock, default_timezone: str) -> BaseTrigger:
        schedule = self.entry.schedule
        timezone = schedule.timezone or default_timezone
        if isinstance(schedule, CronSchedule):
            return cron_trigger(schedule.cron, timezone)
        return interval_trigger(schedule.interval_seconds, clock, timezone, stagger_key=self.name)


def is_pattern(symbol: str) -> bool:
    """Whether a registry instrument is an `fnmatch` pattern rather than a symbol."""
    return any(char in symbol for char in "*?[")


def build_bots(
    config: LoadedConfig, instruments_by_venue: Mapping[str, Mapping[str, Instrument]]
) -> list[RegisteredBot]:
    """Instantiate every enabled bot; an unknown instrument or parameter names its key."""
    built: list[RegisteredBot] = []
    for index, entry in enumerate(config.registry.bots):
        if not entry.enabled:
            continue
        instruments: list[Instrument] = []
        for field, venue, symbols in zip(
            ("instruments", "second_instruments"),
            entry.venues,
            (entry.instruments, entry.second_instruments),
            strict=False,
        ):
            listed = instruments_by_venue.get(venue, {})
            for position, symbol in enumerate(symbols):
                if is_pattern(symbol):
                    # a pattern: every listed symbol it matches (prediction venues list hundreds of markets)
                    matched = [listed[s] for s in sorted(listed) if fnmatch.fnmatchcase(s, symbol)]
                    if not matched:
                        raise ConfigError(
                            config.registry_path,
                            f"bots[{index}].{field}[{position}]",
                            f"the pattern {symbol!r} matches nothing listed on venue {venue!r}",
                        )
                    instruments.extend(i for i in matched if i not in instruments)
                    continue
                if symbol not in listed:
                    known = ", ".join(sorted(listed)[:20]) or "none"
                    more = f" and {len(listed) - 20} more" if len(listed) > 20 else ""
                    raise ConfigError(
                        config.registry_path,
                        f"bots[{index}].{field}[{position}]",
                        f"{symbol!r} is not listed on venue {venue!r} (listed: {known}{more})",
                    )
                if listed[symbol] not in instruments:  # a pattern before it may have taken it
                    instruments.append(listed[symbol])
        spec = BotSpec(
            name=entry.name,
            instruments=tuple(instruments),
            params=dict(entry.params),
            regimes=frozenset(Regime(r) for r in entry.regimes),
            timeframe_seconds=entry.timeframe_seconds,
        )
        bot_class = load_bot_class(entry.bot_class)
        try:
            bot = bot_class(spec)
        except ValueError as exc:
            raise ConfigError(config.registry_path, f"bots[{index}].params", str(exc)) from None
        built.append(RegisteredBot(bot, entry))
    return built
