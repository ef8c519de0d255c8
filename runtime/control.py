"""Control: the operator's levers (pause/resume bots, halt/resume trading), persisted.

The dashboard and Telegram call these methods; the orchestrator reads the
state before every tick and the risk engine before every order. State lives in
the database, so a restart comes back paused or halted if it went down so.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.trading_state import TradingState
from runtime.events import Event, EventBus
from storage.repository import Repository
from utils.clock import Clock


class Control:
    def __init__(self, repository: Repository, clock: Clock, bus: EventBus, bot_names: Iterable[str]) -> None:
        self._repo = repository
        self._clock = clock
        self._bus = bus
        self._bots = set(bot_names)
        state = repository.control_state()
        self._trading_state = TradingState(state.trading_state)
        self._trading_reason = state.trading_reason
        self._all_paused = state.all_paused
        self._paused: dict[str, str] = dict(state.paused_bots)

    # -- reading ------------------------------------------------------------------------------
    @property
    def trading_state(self) -> TradingState:
        return self._trading_state

    @property
    def trading_reason(self) -> str | None:
        return self._trading_reason

    @property
    def all_paused(self) -> bool:
        return self._all_paused

    def is_bot_paused(self, bot: str) -> bool:
        return self._all_paused or bot in self._paused

    def paused_bots(self) -> dict[str, str]:
        return dict(self._paused)

    # -- levers -------------------------------------------------------------------------------
    def pause_bot(self, bot: str, reason: str = "paused by operator") -> None:
        self._require_bot(bot)
        self._paused[bot] = reason
        self._repo.set_bot_paused(bot, True, reason, self._clock.now())
        self._emit("bot_paused", f"{bot} paused: {reason}", bot=bot)

    def resume_bot(self, bot: str, reason: str = "resumed by operator") -> None:
        self._require_bot(bot)
        self._paused.pop(bot, None)
        self._repo.set_bot_paused(bot, False, reason, self._clock.now())
        self._emit("bot_resumed", f"{bot} resumed", bot=bot)

    def pause_all(self, reason: str = "all bots paused by operator") -> None:
        self._all_paused = True
        self._repo.set_all_paused(True, reason, self._clock.now())
        self._emit("bot_paused", reason, bot="all")

    def resume_all(self, reason: str = "all bots resumed by operator") -> None:
        self._all_paused = False
        self._repo.set_all_paused(False, reason, self._clock.now())
        self._emit("bot_resumed", reason, bot="all")

    def halt_trading(self, reason: str = "halted by operator") -> None:
        self._set_trading(TradingState.HALTED, reason)

    def reduce_only(self, reason: str) -> None:
        self._set_trading(TradingState.REDUCING, reason)

    def resume_trading(self, reason: str = "resumed by operator") -> None:
        self._set_trading(TradingState.ACTIVE, reason)

    def _set_trading(self, state: TradingState, reason: str) -> None:
        self._trading_state = state
        self._trading_reason = reason
        self._repo.set_trading_state(state.value, reason, self._clock.now())
        self._emit("trading_state", f"trading {state.value}: {reason}", state=state.value)

    def _require_bot(self, bot: str) -> None:
        if bot not in self._bots:
            raise KeyError(f"unknown bot {bot!r}")

    def _emit(self, kind: str, message: str, **payload: str) -> None:
        self._bus.publish(Event(kind, self._clock.now(), message, payload))
