"""Verdicts remembered for a while, so the same question is not paid for twice.

The key is the model, the prompt version and the rendered user prompt: a new prompt
version or different evidence is a different question. The rendered prompt carries
`now`, so a hit needs the same evidence at the same moment (a re-evaluated signal in one
tick, two bots sending the same entry); a question asked a tick later is a new one,
because staleness is judged against `now`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from ai.llm.verdict import LlmVerdict


@dataclass(frozen=True, slots=True)
class _Entry:
    verdict: LlmVerdict
    expires: datetime


def cache_key(model: str, prompt_version: str, user_prompt: str) -> str:
    # NUL separators: no model name or version can run into the next part
    raw = "\0".join((model, prompt_version, user_prompt))
    return hashlib.sha256(raw.encode()).hexdigest()


class VerdictCache:
    def __init__(self, ttl_seconds: float) -> None:
        if not ttl_seconds >= 0:
            raise ValueError(f"verdict cache ttl_seconds must be >= 0, got {ttl_seconds!r}")
        self._ttl = timedelta(seconds=ttl_seconds)
        self._entries: dict[str, _Entry] = {}

    def get(self, key: str, now: datetime) -> LlmVerdict | None:
        self._drop_expired(now)
        entry = self._entries.get(key)
        return None if entry is None else entry.verdict

    def put(self, key: str, verdict: LlmVerdict, now: datetime) -> None:
        self._drop_expired(now)
        self._entries[key] = _Entry(verdict, now + self._ttl)

    def __len__(self) -> int:
        return len(self._entries)

    def _drop_expired(self, now: datetime) -> None:
        self._entries = {key: entry for key, entry in self._entries.items() if now < entry.expires}
