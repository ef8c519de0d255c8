"""Vetoed entries followed on paper: written, updated and read back by the daemon and the dashboard."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from ai.veto_followup import advance, open_shadow
from domain.signals import Decision, ReasonCode, Side
from storage.reports import Reports
from storage.repository import Repository
from tests.factories import T0, crypto, quote, signal

VETO = Decision.reject(
    "veto_llm", ReasonCode.VETOED, "LLM veto", {"llm": {"verdict": {"category": "stale_data"}}}
)


def test_a_shadow_trade_round_trips_through_its_marks(repo: Repository, journal_path: Path) -> None:
    shadow = open_shadow(
        signal(crypto(), Side.SELL, stop=105.0), VETO, quote(crypto(), bid="99", ask="100"), (60, 240)
    )
    repo.record_shadow_trade(shadow, T0)
    repo.record_shadow_trade(shadow, T0)  # the same signal again: still one row
    marked = advance(
        shadow, quote(crypto(), bid="97", ask="98"), T0 + timedelta(minutes=61), timedelta(hours=1)
    )
    assert marked is not None
    repo.update_shadow_trade(marked, T0 + timedelta(minutes=61))

    assert repo.shadow_trades() == [marked]
    assert repo.shadow_trades(status="following") == [marked]
    assert repo.shadow_trades(status="done") == []
    assert Reports(journal_path).shadow_trades() == [marked]
    assert marked.marks[60].return_fraction == (99 - 98) / 99 and marked.cause == "llm:stale_data"


def test_an_unpriced_veto_is_kept_but_not_followed(repo: Repository) -> None:
    shadow = open_shadow(signal(crypto()), VETO, None, (60,))
    repo.record_shadow_trade(shadow, T0)

    assert repo.shadow_trades(status="following") == []
    assert [s.status for s in repo.shadow_trades()] == ["unpriced"]
