"""Who the Telegram bot obeys: the chat ids of the settings plus the environment's comma list.

Anyone can find a bot by its name and write to it, so the allow-list is the whole of
Telegram's security: a chat not on it gets no answer at all (not even "forbidden",
which would confirm the bot is live), and the daemon logs its id and command so an
operator can add their own chat id after writing to the bot once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from config.schema import TelegramSettings


class AllowListError(ValueError):
    """The environment's chat id list cannot be read; the message names the variable and the entry."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


@dataclass(frozen=True, slots=True)
class AllowList:
    chat_ids: frozenset[int]

    def allows(self, chat_id: int | None) -> bool:
        return chat_id is not None and chat_id in self.chat_ids

    def __len__(self) -> int:
        return len(self.chat_ids)

    def ordered(self) -> list[int]:
        return sorted(self.chat_ids)


def parse_chat_ids(text: str, source: str) -> set[int]:
    """`"123, -100456"` → {123, -100456}. Group chats have negative ids; blanks are skipped."""
    found: set[int] = set()
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            continue
        try:
            found.add(int(entry))
        except ValueError:
            raise AllowListError(
                source,
                f"{entry!r} is not a Telegram chat id (expected integers separated by commas, "
                "e.g. 123456789,-1001234567890)",
            ) from None
    return found


def allow_list(settings: TelegramSettings, environ: Mapping[str, str]) -> AllowList:
    """The settings' `allowed_chat_ids` together with the ids in `allowed_chat_ids_env`."""
    ids = set(settings.allowed_chat_ids)
    ids |= parse_chat_ids(environ.get(settings.allowed_chat_ids_env, ""), settings.allowed_chat_ids_env)
    return AllowList(frozenset(ids))
