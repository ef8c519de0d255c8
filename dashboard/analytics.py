"""The dashboard's arithmetic: the book's tail risk, exit progress (pure, no I/O).

The Go / No-Go table's gate is `backtest.go_live`'s, the one the daemon applies to live bots.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from domain.market import BarSeries
from domain.positions import ExitPlan
from risk_management.correlation import log_returns
from risk_management.tail_risk import book_pnl_samples, sample_cvar, sample_var

MIN_SCENARIOS = 20  # bar returns the held markets must share before their VaR means anything


# ---------------------------------------------------------------------------------------------------
# The book's VaR and CVaR
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TailRisk:
    """The open book's VaR and CVaR (positive numbers are losses, in USD) over `horizon_seconds`.

    Unavailable (None figures, `reason` says why) when a held market has no comparable bars:
    a VaR that silently left a position out would understate the risk.
    """

    var: float | None
    cvar: float | None
    confidence: float
    method: str
    horizon_seconds: int
    scenarios: int
    markets: int
    reason: str | None = None
    missing: tuple[str, ...] = field(default_factory=tuple)
    binary_worst_case: float = 0.0  # prediction contracts, counted as lost in every scenario


def book_tail_risk(
    exposures_usd: Mapping[str, float],
    bars: Mapping[str, BarSeries | None],
    *,
    timeframe_seconds: int,
    horizon_seconds: int,
    method: str,
    confidence: float,
    binary_worst_case: float = 0.0,
) -> TailRisk:
    """VaR/CVaR of the book from its markets' bar returns, scaled to the horizon by √time.

    The scenarios are the risk engine's (`risk_management.stage`): each market's simple return
    from one bar to the next, times √(horizon / timeframe), applied to the signed notional held
    there. Markets are aligned on the bar times they share (a stock's closed hours drop out),
    so every scenario is one moment for the whole book. Prediction contracts have no bar returns:
    as in the risk engine, their worst case (`binary_worst_case`, USD) is lost in every scenario.
    """

    def unavailable(reason: str, missing: Sequence[str] = ()) -> TailRisk:
        return TailRisk(
            None, None, confidence, method, horizon_seconds, 0, len(exposures_usd), reason, tuple(missing)
        )

    if not exposures_usd:
        if binary_worst_case > 0:
            loss = binary_worst_case
            return TailRisk(loss, loss, confidence, method, horizon_seconds, 0, 0, binary_worst_case=loss)
        return unavailable("no open positions")
    keys = sorted(exposures_usd)
    missing = [key for key in keys if not bars.get(key)]
    if missing:
        return unavailable("no bar history for " + ", ".join(missing), missing)
    series = {key: bars[key] for key in keys}
    common = functools.reduce(np.intersect1d, [s.times for s in series.values() if s is not None])
    if len(common) < MIN_SCENARIOS + 1:
        return unavailable(f"the held markets share {len(common)} bars; {MIN_SCENARIOS + 1} are needed")
    try:
        columns = [log_returns(s.close[np.isin(s.times, common)]) for s in series.values() if s is not None]
    except ValueError as exc:
        return unavailable(f"bad bar history: {exc}")
    scale = math.sqrt(horizon_seconds / timeframe_seconds)
    returns = np.column_stack([np.expm1(c) * scale for c in columns])
    pnl = book_pnl_samples([exposures_usd[key] for key in keys], returns) - binary_worst_case
    return TailRisk(
        var=sample_var(pnl, method, confidence),
        cvar=sample_cvar(pnl, method, confidence),
        confidence=confidence,
        method=method,
        horizon_seconds=horizon_seconds,
        scenarios=len(pnl),
        markets=len(keys),
        binary_worst_case=binary_worst_case,
    )


# ---------------------------------------------------------------------------------------------------
# A position's exit plan, as far as it has come
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ExitProgress:
    stage: str  # a sentence: which step of the plan the position is at
    stop_price: Decimal
    first_target: Decimal
    second_target: Decimal
    first_target_done: bool
    second_target_done: bool
    trailing: bool
    remaining_fraction: Decimal  # of the quantity the plan was set for
    r_multiple: Decimal | None  # how far the mark is from entry, in units of the initial risk


def exit_progress(plan: ExitPlan, quantity: Decimal, mark: Decimal | None) -> ExitProgress:
    if plan.second_target_done:
        stage = "second target taken; the rest rides a trailing stop"
    elif plan.first_target_done:
        stage = "first target taken; stop moved to break-even"
    else:
        stage = "waiting for the first target (1R) with the initial stop"
    r_multiple = None
    if mark is not None and plan.risk_per_unit > 0:
        r_multiple = (mark - plan.entry_price) * plan.side.sign / plan.risk_per_unit
    remaining = abs(quantity) / plan.initial_quantity if plan.initial_quantity > 0 else Decimal(0)
    return ExitProgress(
        stage=stage,
        stop_price=plan.stop_price,
        first_target=plan.first_target,
        second_target=plan.second_target,
        first_target_done=plan.first_target_done,
        second_target_done=plan.second_target_done,
        trailing=plan.second_target_done,
        remaining_fraction=remaining,
        r_multiple=r_multiple,
    )
