"""The LLM prompts: versioned templates in `ai/prompts/`, loaded by one function; the veto's is
rendered here for one signal (the market analyst renders its own, `ai/market_analyst.py`).

The template is read from the source tree, next to this package (`ai/prompts/veto_v1.md`),
not through package data: the project runs from an editable install, and `*.md` is not in
`[tool.setuptools.package-data]`, so a built wheel would lack it. Its first line names its
version (`<!-- version: veto-v1 -->`); the version goes into every decision's details and
into the cache key, so changing the prompt means a new file and a new version.

A line `---` splits the system part (instructions, fixed) from the user part (the signal),
which is a `string.Template`: `$name` placeholders, so the JSON braces need no escaping.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Any

from ai.llm.verdict import VERDICT_SCHEMA
from ai.veto_layer import ScheduledEvent
from domain.signals import Signal
from domain.time import require_aware

PROMPTS_DIRECTORY = Path(__file__).resolve().parent.parent / "prompts"
TEMPLATE_PATH = PROMPTS_DIRECTORY / "veto_v1.md"
_VERSION_LINE = re.compile(r"\A\s*(?:<!--)?\s*version:\s*(?P<version>[\w.-]+)\s*(?:-->)?\s*\Z")


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """One prompt file: its version (journaled and part of every cache key), the fixed system
    part, and the user part with its `$name` placeholders."""

    version: str
    system: str
    user: Template


def load_template(path: Path) -> PromptTemplate:
    """The template at `path`; raises ValueError naming the file when its format is wrong."""
    lines = path.read_text(encoding="utf-8").splitlines()
    first = _VERSION_LINE.match(lines[0]) if lines else None
    if first is None:
        raise ValueError(f"{path}: the first line must be a comment 'version: <name>'")
    body = lines[1:]
    if body.count("---") != 1:
        raise ValueError(f"{path}: exactly one line '---' must split the system part from the user part")
    split = body.index("---")
    system = "\n".join(body[:split]).strip()
    user = "\n".join(body[split + 1 :]).strip()
    return PromptTemplate(first.group("version"), system, Template(user))


_VETO = load_template(TEMPLATE_PATH)
PROMPT_VERSION, _SYSTEM, _USER = _VETO.version, _VETO.system, _VETO.user


def _json(value: Any) -> str:
    # default=str: evidence may carry datetimes, Decimals and enums; the model reads their text
    return json.dumps(value, indent=2, sort_keys=True, default=_text)


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def data_timestamps(signal: Signal) -> dict[str, Any]:
    """The times the signal rests on: its own, and evidence keys ending `_at` or `as_of`
    (the same ones the rules veto checks)."""
    stamps: dict[str, Any] = {"signal time": signal.time}
    stamps.update((k, v) for k, v in signal.evidence.items() if k.endswith("_at") or k.endswith("as_of"))
    return stamps


def render(signal: Signal, now: datetime, events: Sequence[ScheduledEvent]) -> tuple[str, str]:
    """(system, user) prompts for `signal` at `now`, with `events` as the upcoming ones."""
    require_aware(now, "veto prompt time")
    described = {
        "bot": signal.bot,
        "instrument": signal.instrument.key,
        "symbol": signal.instrument.symbol,
        "asset_class": signal.instrument.asset_class.value,
        "side": signal.side.value,
        "intent": signal.intent.value,
        "confidence": signal.confidence,
        "edge": signal.edge,
        "stop": signal.stop,
        "reason": signal.reason,
        "time": signal.time,
    }
    upcoming = [{"name": e.name, "time": e.time} for e in sorted(events, key=lambda e: e.time)]
    user = _USER.substitute(
        signal=_json(described),
        evidence=_json(dict(signal.evidence)),
        timestamps=_json(data_timestamps(signal)),
        now=now.isoformat(),
        events=_json(upcoming) if upcoming else "none known",
        schema=json.dumps(VERDICT_SCHEMA, sort_keys=True),
    )
    return _SYSTEM, user
