"""Veto analytics: every vetoed entry followed on paper, to see whether the veto earns its keep.

A vetoed entry becomes a *shadow trade*: entered at the quote when it was vetoed (a buy
at the ask, a sell at the bid, as a paper fill would have been) and marked at fixed
horizons after that (the exit side of the quote: a buy's bid, a sell's ask). When the
signal named a stop and the exit side of a later quote is through it, the trade is over
at that quote: every horizon not yet marked takes the stopped-out return. Returns are
fractions of the entry price, signed so that a gain of the vetoed side is positive, and
before fees.

A missing, stale or non-positive quote is never replaced by a guess: an entry without a
price is kept as *unpriced* (it stays in the count, not in the returns), and a horizon
without a price waits for the next look; once the last horizon is more than `grace` past
due, the horizons still without a mark are given up. Stops are checked on the quotes the
follow-up sees (once a minute in the daemon), not on every tick in between.

Everything here is pure: quotes and times come in, new states go out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from domain.market import Quote
from domain.shadow_trades import Mark, ShadowTrade
from domain.signals import Decision, Side, Signal

FOLLOWED_STAGES = ("veto", "veto_llm")  # the stages whose rejections are followed


def veto_cause(decision: Decision) -> str:
    """What vetoed the entry, in a word the scorecard can group by: the rules that failed
    (`rules:stale_evidence`), the model's category (`llm:event_timing`), or the failure
    policy (`llm:policy:late`)."""
    details = decision.details
    llm = details.get("llm")
    if isinstance(llm, Mapping):
        verdict = llm.get("verdict")
        if isinstance(verdict, Mapping) and "category" in verdict:
            return f"llm:{verdict['category']}"
        return f"llm:policy:{llm.get('outcome', 'unknown')}"
    veto = details.get("veto")
    if isinstance(veto, Mapping) and isinstance(veto.get("fired"), Sequence):
        fired = sorted(str(r.get("rule")) for r in veto["fired"] if isinstance(r, Mapping))
        if fired:
            return "rules:" + "+".join(fired)
    return decision.stage


def _positive(value: float) -> float | None:
    return value if math.isfinite(value) and value > 0 else None


def entry_price(side: Side, quote: Quote | None) -> float | None:
    """What a paper entry would have paid: the ask for a buy, the bid for a sell (None without one)."""
    if quote is None:
        return None
    return _positive(float(quote.touch(side)))


def exit_price(side: Side, quote: Quote | None) -> float | None:
    """What a paper exit would have got: the bid for a buy, the ask for a sell."""
    if quote is None:
        return None
    return _positive(float(quote.touch(side.opposite)))


def signed_return(side: Side, entry: float, exit_at: float) -> float:
    move = (exit_at - entry) / entry
    return move if side is Side.BUY else -move


def open_shadow(
    signal: Signal, decision: Decision, quote: Quote | None, horizons_minutes: Sequence[int]
) -> ShadowTrade:
    """The shadow trade of an entry that `decision` vetoed, entered at `quote` (fresh, or None)."""
    if not horizons_minutes or any(h <= 0 for h in horizons_minutes):
        raise ValueError(f"veto follow-up horizons must be positive minutes, got {list(horizons_minutes)}")
    price = entry_price(signal.side, quote)
    return ShadowTrade(
        signal_id=signal.id,
        bot=signal.bot,
        instrument_key=signal.instrument.key,
        side=signal.side,
        stage=decision.stage,
        cause=veto_cause(decision),
        reason=decision.message,
        vetoed_at=signal.time,
        entry_price=price,
        stop=signal.stop,
        horizons_minutes=tuple(sorted(set(horizons_minutes))),
        status="following" if price is not None else "unpriced",
    )


def _stopped(shadow: ShadowTrade, price: float) -> bool:
    if shadow.stop is None:
        return False
    return price <= shadow.stop if shadow.side is Side.BUY else price >= shadow.stop


def advance(shadow: ShadowTrade, quote: Quote | None, now: datetime, grace: timedelta) -> ShadowTrade | None:
    """The shadow trade after looking at `quote` at `now`, or None when nothing changed.

    `quote` must already be judged fresh by the caller (the price chain's staleness rules);
    None means there is no usable price now.
    """
    if shadow.status != "following" or shadow.entry_price is None:
        return None
    marks = dict(shadow.marks)
    price = exit_price(shadow.side, quote)
    if price is not None:
        due = [h for h in shadow.horizons_minutes if h not in marks]
        if _stopped(shadow, price):
            stopped = Mark(now, price, signed_return(shadow.side, shadow.entry_price, price), "stop")
            marks.update((h, stopped) for h in due)
        else:
            for h in due:
                if shadow.vetoed_at + timedelta(minutes=h) <= now:
                    marks[h] = Mark(
                        now, price, signed_return(shadow.side, shadow.entry_price, price), "horizon"
                    )
    finished = len(marks) == len(shadow.horizons_minutes) or now > shadow.last_due() + grace
    if marks == dict(shadow.marks) and not finished:
        return None
    return replace(shadow, marks=marks, status="done" if finished else "following")


@dataclass(frozen=True, slots=True)
class ScorecardRow:
    """The vetoed entries of one cause: how many, how many had a price, and per horizon the
    number marked, their mean return and the share that would have made money."""

    cause: str
    vetoed: int
    priced: int
    by_horizon: Mapping[int, tuple[int, float | None, float | None]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "vetoed": self.vetoed,
            "priced": self.priced,
            "horizons": {
                str(h): {
                    "marked": n,
                    "mean_return": None if mean is None else round(mean, 6),
                    "win_rate": None if wins is None else round(wins, 4),
                }
                for h, (n, mean, wins) in self.by_horizon.items()
            },
        }


def scorecard(shadows: Iterable[ShadowTrade], horizons_minutes: Sequence[int]) -> list[ScorecardRow]:
    """One row per cause plus an "all" row first. A positive mean return means the vetoed
    entries would have made money on average: the veto cost money there."""
    groups: dict[str, list[ShadowTrade]] = {}
    everything: list[ShadowTrade] = []
    for shadow in shadows:
        groups.setdefault(shadow.cause, []).append(shadow)
        everything.append(shadow)
    rows = [_row("all", everything, horizons_minutes)] if everything else []
    rows.extend(_row(cause, members, horizons_minutes) for cause, members in sorted(groups.items()))
    return rows


def _row(cause: str, members: Sequence[ShadowTrade], horizons_minutes: Sequence[int]) -> ScorecardRow:
    by_horizon: dict[int, tuple[int, float | None, float | None]] = {}
    for h in horizons_minutes:
        returns = [s.marks[h].return_fraction for s in members if h in s.marks]
        if returns:
            by_horizon[h] = (
                len(returns),
                sum(returns) / len(returns),
                sum(1 for r in returns if r > 0) / len(returns),
            )
        else:
            by_horizon[h] = (0, None, None)
    priced = sum(1 for s in members if s.entry_price is not None)
    return ScorecardRow(cause, len(members), priced, by_horizon)
