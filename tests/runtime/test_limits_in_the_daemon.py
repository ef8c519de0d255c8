"""Each risk limit fires in the running daemon under a configuration that provokes it, and the
refusal (or the cut, for the caps that shrink an entry) lands in the decisions journal with its
reason code.

The daemon runs as in production on the simulated clock (registry, regime filter, risk stage
with its bars, journal, paper venues); only the limits are set tight and the bots are eager.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bots.base import Bot, BotContext
from domain.signals import ReasonCode, Side, Signal, SignalIntent
from runtime.wiring import build_simulated
from storage.database import open_storage
from tests.runtime.test_orchestrator import START, configured, run_for

pytestmark = pytest.mark.slow
MODULE = "tests.runtime.test_limits_in_the_daemon"


class EagerBot(Bot):
    """Opens a position in each instrument whenever flat (side from params, default buy) and,
    with `flip = true`, closes it on the next tick."""

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        side = Side(self.spec.params.get("side", "buy"))
        signals = []
        for index, instrument in enumerate(self.instruments):
            held = ctx.position(instrument)
            quote = await ctx.quote(instrument)
            if quote is None:
                continue
            price = float(quote.mid)
            if held is not None:
                if self.spec.params.get("flip"):
                    signals.append(
                        self.signal(
                            ctx,
                            instrument,
                            side.opposite,
                            SignalIntent.CLOSE,
                            confidence=1.0,
                            edge=0.0,
                            stop=None,
                            reason="flip",
                            sequence=index,
                        )
                    )
                continue
            stop = price * (0.99 if side is Side.BUY else 1.01)
            signals.append(
                self.signal(
                    ctx,
                    instrument,
                    side,
                    SignalIntent.OPEN,
                    confidence=0.6,
                    edge=0.01,
                    stop=stop,
                    reason="eager",
                    evidence={"atr": price * 0.004},
                    sequence=index,
                )
            )
        return signals


def eager(name: str, instruments: list[str], venue: str, **params: Any) -> dict[str, Any]:
    return {
        "name": name,
        "class": f"{MODULE}:EagerBot",
        "instruments": instruments,
        "venue": venue,
        "schedule": {"interval_seconds": 10},
        "regimes": ["bull", "bear", "sideways"],
        "params": params,
    }


CRYPTO = ["BTC/USD", "ETH/USD", "SOL/USD"]
STOCKS = ["SPY", "QQQ", "XLE"]
CASES: dict[str, tuple[list[dict[str, Any]], dict[str, Any], set[ReasonCode]]] = {
    "max positions": (
        [eager("e", CRYPTO, "sim-crypto")],
        {"max_concurrent_positions": 1},
        {ReasonCode.MAX_POSITIONS},
    ),
    "gross exposure": (
        [eager("e", CRYPTO, "sim-crypto")],
        {"gross_exposure_cap_fraction": 0.01},
        {ReasonCode.GROSS_EXPOSURE},
    ),
    "bot exposure": (
        [eager("e", CRYPTO, "sim-crypto")],
        {"max_bot_exposure_fraction": 0.01},
        {ReasonCode.BOT_EXPOSURE},
    ),
    "asset class exposure": (
        [eager("e", CRYPTO, "sim-crypto")],
        {"max_asset_class_exposure_fraction": {"crypto": 0.01}},
        {ReasonCode.ASSET_CLASS_EXPOSURE},
    ),
    "correlated exposure": (
        [eager("e", STOCKS, "sim-stocks")],
        {
            "correlation_threshold": 0.05,
            "max_correlated_exposure_fraction": 0.01,
            "correlation_window_bars": 60,
        },
        {ReasonCode.CORRELATED_EXPOSURE},
    ),
    "cvar budget": (
        [eager("e", CRYPTO, "sim-crypto")],
        {"cvar_budget_fraction": 0.00001},
        {ReasonCode.CVAR_BUDGET},
    ),
    "re-entry cooldown": (
        [eager("e", ["ETH/USD"], "sim-crypto", flip=True)],
        {"reentry_cooldown_minutes": 30.0},
        {ReasonCode.REENTRY_COOLDOWN},
    ),
    "contradictory position": (
        [eager("long", ["SPY"], "sim-stocks"), eager("short", ["SPY"], "sim-stocks", side="sell")],
        {},
        {ReasonCode.CONTRADICTORY_POSITION},
    ),
    "risk-parity allocation": (
        [eager("a-fx", ["EUR_USD"], "sim-fx"), eager("b-crypto", CRYPTO, "sim-crypto")],
        {"hrp_allocation": True},
        {ReasonCode.HRP_ALLOCATION},
    ),
    "daily loss limit": (
        [eager("e", CRYPTO, "sim-crypto", flip=True)],
        {"daily_loss_limit_usd": 0.5},
        {ReasonCode.TRADING_REDUCING, ReasonCode.DAILY_LOSS_LIMIT},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_limit_fires_and_is_journaled_with_its_reason(case: str, tmp_path: Path) -> None:
    bots, risk, expected = CASES[case]
    config = configured(tmp_path, bots, **risk)
    run = build_simulated(config, START)
    run_for(run, timedelta(minutes=6))

    repo = open_storage(tmp_path / "trading.sqlite")
    risk = [d for s in repo.decision_counts_by_signal() for d in repo.decisions(s) if d.stage == "risk"]
    # a limit fires by refusing an entry, or by cutting one down (the decision says which cap bound)
    fired = {d.reason_code for d in risk if not d.passed}
    fired |= {ReasonCode(d.details["cut_by_cap"]) for d in risk if d.passed and d.details.get("cut_by_cap")}
    assert fired & expected, f"{case}: limits seen {sorted(c.value for c in fired)}"
    if case == "daily loss limit":
        assert any(e.kind == "daily_loss_halt" for e in repo.risk_events())
