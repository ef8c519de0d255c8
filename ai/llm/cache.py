"""Answers remembered for a while, so the same question is not paid for twice.

`VerdictCache[T]` holds any kind of answer: the veto keeps `LlmVerdict`s, the market
analyst its market views. The key is the model, the prompt version and what was asked:
a new prompt version or different evidence is a different question.

For the veto, what was asked is the rendered user prompt. It carries `now`, so a hit needs
the same evidence at the same moment (a re-evaluated signal in one tick, two bots sending
the same entry); a question asked a tick later is a new one, because staleness is judged
against `now`. The analyst asks about a market, not a signal, so its key is the instrument.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    value: T
    expires: datetime


def cache_key(model: str, prompt_version: str, user_prompt: str) -> str:
    # NUL separators: no model name or version can run into the next part
    raw = "\0".join((model, prompt_version, user_prompt))
    return hashlib.sha256(raw.encode()).hexdigest()


class VerdictCache(Generic[T]):
    def __init__(self, ttl_seconds: float) -> None:
        if not ttl_seconds >= 0:
            raise ValueError(f"verdict cache ttl_seconds must be >= 0, got {ttl_seconds!r}")
        self._ttl = timedelta(seconds=ttl_seconds)
        self._entries: dict[str, _Entry[T]] = {}

    def get(self, key: str, now: datetime) -> T | None:
        self._drop_expired(now)
        entry = self._entries.get(key)
        return None if entry is None else entry.value

    def put(self, key: str, value: T, now: datetime) -> None:
        self._drop_expired(now)
        self._entries[key] = _Entry(value, now + self._ttl)

    def __len__(self) -> int:
        return len(self._entries)

    def _drop_expired(self, now: datetime) -> None:
        self._entries = {key: entry for key, entry in self._entries.items() if now < entry.expires}
