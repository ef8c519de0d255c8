"""What every dashboard request reads from: the journal, the settings, and (when live) the daemon."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from zoneinfo import ZoneInfo

from config.schema import Settings
from dashboard.ledger import TradeLedger
from dashboard.live import EventFeed, LiveBridge
from storage.reports import Reports
from utils.clock import Clock

log = logging.getLogger("dashboard")
MIN_TOKEN_LENGTH = 16  # a shorter bearer token could be guessed by trying
READ_ONLY_NOTE = (
    "Read-only: the daemon is not running. Figures come from the journal; "
    "nothing can be controlled from here."
)


@dataclass(frozen=True, slots=True)
class ControlAccess:
    """Whether the control buttons work, and the sentence the page shows when they do not."""

    enabled: bool
    note: str | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    settings: Settings
    reports: Reports
    clock: Clock
    live: LiveBridge | None = None  # None: read-only, from the journal, with the daemon down
    feed: EventFeed | None = None
    token: str | None = None  # the bearer token control actions need; None disables them
    token_problem: str | None = None  # why there is no usable token
    # the read-only banner: what journal this is (the daemon's, or a replay's and of when)
    read_only_note: str = READ_ONLY_NOTE
    ledger: TradeLedger = field(init=False)  # all-time trade figures, carried forward

    def __post_init__(self) -> None:
        object.__setattr__(self, "ledger", TradeLedger(self.reports, self.settings.system.timezone))

    def warm_up(self) -> None:
        """Sum the journal's trades once in the background, so the first page does not wait for it."""

        def read() -> None:
            try:
                self.ledger.refresh()
            except Exception:
                log.exception("reading the journal's trades failed; pages will try again")

        threading.Thread(target=read, name="dashboard-ledger", daemon=True).start()

    @property
    def read_only(self) -> bool:
        return self.live is None

    @property
    def control(self) -> ControlAccess:
        if self.read_only:
            return ControlAccess(False, "Read-only: the daemon is not running, so nothing can be controlled.")
        if self.token is None:
            return ControlAccess(False, f"Control actions are disabled: {self.token_problem}.")
        return ControlAccess(True, None)

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.system.timezone)

    def day_start(self, now: datetime) -> datetime:
        """Local midnight of `now`'s trading day (the daily loss limit's day)."""
        return now.astimezone(self.timezone).replace(hour=0, minute=0, second=0, microsecond=0)


def control_token(settings: Settings, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The bearer token from the environment variable the settings name, or why there is none."""
    name = settings.dashboard.token_env
    token = environ.get(name, "").strip()
    if not token:
        return None, f"no token is configured (set {name} in the daemon's environment)"
    if len(token) < MIN_TOKEN_LENGTH:
        return None, f"{name} is shorter than {MIN_TOKEN_LENGTH} characters"
    return token, None


# ---------------------------------------------------------------------------------------------------
# JSON values: money as exact decimal text, times in ISO 8601 with their offset
# ---------------------------------------------------------------------------------------------------
def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def fraction(part: Decimal | float | None, whole: Decimal | float | None) -> float | None:
    """part / whole as a float for gauges; None when either is unknown or the whole is not positive."""
    if part is None or whole is None or whole <= 0:
        return None
    return float(part) / float(whole)


def plain(value: object) -> object:
    """What Flask's JSON encoder cannot write itself (it would spell a datetime as an HTTP date)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
