"""Load and validate the TOML configuration; every error names the file and the key."""

from __future__ import annotations

import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from config.schema import BotEntry, Registry, Settings

M = TypeVar("M", bound=BaseModel)

DEFAULT_CONFIG = Path(__file__).with_name("default.toml")


class ConfigError(Exception):
    """A configuration problem a person must fix; the message says where and what."""

    def __init__(self, file: Path | str, key: str, problem: str) -> None:
        self.file = str(file)
        self.key = key
        self.problem = problem
        super().__init__(f"{self.file}: {key}: {problem}" if key else f"{self.file}: {problem}")


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    settings: Settings
    registry: Registry
    settings_path: Path
    registry_path: Path

    @property
    def base_dir(self) -> Path:
        return self.settings_path.parent

    def bot_key(self, index: int, field: str) -> str:
        return f"bots[{index}].{field}"


def load_config(path: Path | str = DEFAULT_CONFIG) -> LoadedConfig:
    settings_path = Path(path)
    settings = _validate(Settings, _read_toml(settings_path), settings_path)
    registry_path = (settings_path.parent / settings.system.registry).resolve()
    registry = _validate(Registry, _read_toml(registry_path), registry_path)
    loaded = LoadedConfig(settings, registry, settings_path, registry_path)
    _check_cross_references(loaded)
    return loaded


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(path, "", "file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"not valid TOML: {exc}") from exc


def _validate(model: type[M], data: dict[str, Any], path: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _format_location(first["loc"])
        if first["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, first["loc"][:-1])
            hint = f" (expected one of: {', '.join(allowed)})" if allowed else ""
            raise ConfigError(path, key, f"unknown key{hint}") from None
        if first["type"] == "missing":
            raise ConfigError(path, key, "required key is missing") from None
        value = first.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        raise ConfigError(path, key or "(top level)", f"{first['msg']}{shown}") from None


def _format_location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif " " in item or "[" in item:
            continue  # a union tag pydantic adds; the user never wrote it
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys valid at `loc`, found by walking the schema's annotations."""
    candidates: list[Any] = [model]
    for item in loc:
        next_candidates: list[Any] = []
        for candidate in candidates:
            next_candidates.extend(_step(candidate, item))
        candidates = next_candidates
    keys: list[str] = []
    for candidate in candidates:
        for member in _unwrap(candidate):
            if isinstance(member, type) and issubclass(member, BaseModel):
                for name, info in member.model_fields.items():
                    keys.append(info.alias or name)
    return sorted(set(keys))


def _step(annotation: Any, item: int | str) -> list[Any]:
    out: list[Any] = []
    for member in _unwrap(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            if isinstance(item, str):
                if " " in item:
                    out.append(member)
                    continue
                for name, info in member.model_fields.items():
                    if item in (name, info.alias):
                        out.append(info.annotation)
        else:
            origin = typing.get_origin(member)
            args = typing.get_args(member)
            if origin is list and args:
                out.append(args[0])
            elif origin is dict and len(args) == 2:
                out.append(args[1])
    return out


def _unwrap(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return [m for arg in typing.get_args(annotation) for m in _unwrap(arg)]
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    return [annotation]


def _check_cross_references(config: LoadedConfig) -> None:
    """Checks that need both files: venues exist, classes load, paper-only venues stay paper."""
    from bots.catalog import load_bot_class  # local: the catalog imports bot modules

    venues = config.settings.venues
    for index, bot in enumerate(config.registry.bots):
        for field, name in zip(("venue", "second_venue"), bot.venues, strict=False):
            if name not in venues:
                known = ", ".join(sorted(venues)) or "none configured"
                raise ConfigError(
                    config.registry_path,
                    config.bot_key(index, field),
                    f"unknown venue {name!r} (known: {known})",
                )
            if bot.mode == "live" and venues[name].kind == "simulated":
                raise ConfigError(
                    config.registry_path,
                    config.bot_key(index, "mode"),
                    f'venue {name!r} is simulated and cannot trade live; use mode = "paper"',
                )
        venue = venues[bot.venue]
        if venue.kind == "simulated" and bot.timeframe_seconds % 60:
            raise ConfigError(
                config.registry_path,
                config.bot_key(index, "timeframe_seconds"),
                f"the simulated world serves whole-minute bars; "
                f"{bot.timeframe_seconds} is not a multiple of 60",
            )
        try:
            load_bot_class(bot.bot_class)
        except ValueError as exc:
            raise ConfigError(config.registry_path, config.bot_key(index, "class"), str(exc)) from None


def bot_entries(config: LoadedConfig) -> list[tuple[int, BotEntry]]:
    return [(i, bot) for i, bot in enumerate(config.registry.bots) if bot.enabled]
