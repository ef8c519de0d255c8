"""The contract between the broker conformance suite and each implementation's test venue.

Every Broker implementation (the paper broker and each live adapter) has a
module `tests/brokers/harnesses/<name>.py` with a function
`make_harness(tmp_path: Path) -> VenueHarness`. For a live adapter the harness
starts the venue's fake server, points the real SDK at it through its normal
base-URL setting and builds the adapter through `brokers.factory`, exactly as
the daemon does, with credentials taken from a test environment mapping.

Capabilities say which parts of the suite apply:
- "partial_fills": the venue can fill a resting order in part (`fill` with a quantity);
- "faults": the venue is reached over HTTP and can be told to misbehave (`inject`);
- "wire": prices and quantities leave the process, so the suite checks they were rounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from brokers.base import Broker
from domain.instruments import Instrument
from domain.orders import OrderIntent
from tests.fakes.server import Fault

PARTIAL_FILLS = "partial_fills"
FAULTS = "faults"
WIRE = "wire"


@dataclass(frozen=True, slots=True)
class SentOrder:
    """An order as the venue recorded it: what actually left the adapter."""

    limit_price: Decimal | None
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Routes:
    """(method, path fragment) of the requests fault tests aim at."""

    submit: tuple[str, str]
    quote: tuple[str, str]
    balance: tuple[str, str]


class VenueHarness(Protocol):
    name: str
    broker: Broker
    instrument: Instrument
    quantity: Decimal  # a valid order size on `instrument`
    resting_buy_price: Decimal  # a valid limit price that rests (below the ask)
    bid: Decimal  # the quote the venue was given at start
    ask: Decimal
    capabilities: frozenset[str]
    routes: Routes | None  # None without the "faults" capability
    call_timeout_seconds: float  # the adapter's per-request timeout in this harness

    def fill(self, client_order_id: str, quantity: Decimal | None = None) -> None:
        """The market trades against our resting order: `quantity` of it, or all that is left."""
        ...

    def inject(self, fault: Fault) -> None: ...

    def clear_faults(self) -> None: ...

    def request_times(self, method: str, path_contains: str) -> list[float]:
        """time.monotonic() of each request the venue received on that route."""
        ...

    def reject_next_order(self, reason: str) -> None:
        """The venue refuses the next order with this reason (a 4xx with the venue's error body)."""
        ...

    def orders_at_venue(self) -> int:
        """How many orders the venue holds in all, in any status."""
        ...

    def sent_order(self, client_order_id: str) -> SentOrder | None: ...

    def add_position(self, quantity: Decimal, price: Decimal) -> None:
        """A position on `instrument` appears at the venue behind our back (manual trade, lost fill)."""
        ...

    async def submit_and_lose_answer(self, intent: OrderIntent) -> None:
        """The order reaches the venue but its acknowledgement never reaches us (then we 'crash')."""
        ...

    def restarted_broker(self) -> Broker:
        """A new adapter instance on the same venue and account, as after a restart."""
        ...

    def now(self) -> datetime: ...

    def close(self) -> None: ...
