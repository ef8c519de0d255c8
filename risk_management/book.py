"""The book: every bot's positions and the P&L they add up to, rebuilt from fills.

Pure state over domain values: fills and marks in, positions, exposures and
equity out. Equity = starting capital + realized P&L − fees + unrealized P&L,
so the equity change over any window equals realized plus unrealized P&L over
it, which the integration tests check against the fill journal.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from domain.instruments import Instrument
from domain.orders import Fill
from domain.positions import ClosedTrade, ExitPlan, Position, apply_fill
from domain.signals import Side
from risk_management.engine import Exposure, stance_of

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class EquityBreakdown:
    equity: Decimal
    realized: Decimal  # gross, all time
    fees: Decimal  # all time
    unrealized: Decimal
    gross_exposure: Decimal
    open_positions: int

    @property
    def cash(self) -> Decimal:
        """Equity without the open positions' unrealized P&L."""
        return self.equity - self.unrealized


class Book:
    def __init__(self, starting_capital: Decimal, instruments: Mapping[str, Instrument]) -> None:
        self.starting_capital = starting_capital
        self._instruments = dict(instruments)
        self._positions: dict[tuple[str, str], Position] = {}
        self._closed_realized = ZERO
        self._closed_fees = ZERO

    def restore(self, positions: Iterable[Position], closed_trades: Iterable[ClosedTrade]) -> None:
        for position in positions:
            self._positions[(position.bot, position.instrument_key)] = position
        for trade in closed_trades:
            self._closed_realized += trade.gross_pnl
            self._closed_fees += trade.fees

    def add_instruments(self, instruments: Iterable[Instrument]) -> None:
        """Know markets a venue listed after the start."""
        self._instruments.update({i.key: i for i in instruments})

    def instrument(self, key: str) -> Instrument:
        return self._instruments[key]

    def apply_fill(self, bot: str, fill: Fill) -> tuple[Position, ClosedTrade | None]:
        key = (bot, fill.instrument_key)
        current = self._positions.get(key) or Position(bot=bot, instrument_key=fill.instrument_key)
        updated, closed = apply_fill(current, fill)
        if closed is not None:
            self._closed_realized += closed.gross_pnl
            self._closed_fees += closed.fees
        self._positions[key] = updated
        return updated, closed

    def set_exit_plan(self, bot: str, instrument_key: str, plan: ExitPlan | None) -> Position:
        key = (bot, instrument_key)
        updated = replace(self._positions[key], exit_plan=plan)
        self._positions[key] = updated
        return updated

    def position(self, bot: str, instrument_key: str) -> Position | None:
        position = self._positions.get((bot, instrument_key))
        return position if position is not None and position.is_open else None

    def open_positions(self) -> list[Position]:
        return [p for p in self._positions.values() if p.is_open]

    def exposures(self, marks: Mapping[str, Decimal]) -> tuple[Exposure, ...]:
        out = []
        for position in self.open_positions():
            instrument = self._instruments[position.instrument_key]
            out.append(
                Exposure(
                    bot=position.bot,
                    instrument_key=position.instrument_key,
                    underlying=instrument.underlying,
                    asset_class=instrument.asset_class.value,
                    signed_quantity=position.quantity,
                    mark_price=marks.get(position.instrument_key, position.average_entry_price),
                    stance=stance_of(instrument, Side.BUY if position.quantity > 0 else Side.SELL),
                )
            )
        return tuple(out)

    def unrealized(self, marks: Mapping[str, Decimal], bots: Collection[str]) -> Decimal:
        """The unrealized P&L of the open positions of `bots`, marked as `equity` marks them."""
        return sum(
            (
                p.unrealized_pnl(marks.get(p.instrument_key, p.average_entry_price))
                for p in self._positions.values()
                if p.is_open and p.bot in bots
            ),
            ZERO,
        )

    def equity(self, marks: Mapping[str, Decimal]) -> EquityBreakdown:
        """Mark to `marks`; a position never marked yet counts at its entry price (zero unrealized)."""
        realized = self._closed_realized
        fees = self._closed_fees
        unrealized = ZERO
        gross = ZERO
        open_count = 0
        for position in self._positions.values():
            realized += position.realized_pnl
            fees += position.fees
            if position.is_open:
                mark = marks.get(position.instrument_key, position.average_entry_price)
                unrealized += position.unrealized_pnl(mark)
                gross += position.notional(mark)
                open_count += 1
        equity = self.starting_capital + realized - fees + unrealized
        return EquityBreakdown(equity, realized, fees, unrealized, gross, open_count)
