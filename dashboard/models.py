"""The "Regimes & models" panel: each market's HMM regime, the regime fits, and the ML model registry.

Plain readers over the journal and the registry folder; they return JSON-ready dicts and
change nothing. The model "in use" for an asset is its newest promoted version, the one
`ModelRegistry.latest_promoted` would load.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ai import LLM_SPEND_KEY, NEWS_STATUS_KEY
from dashboard.context import Dashboard
from ml_models.locations import RETRAINING_STATUS_KEY, models_directory

if TYPE_CHECKING:
    from ml_models.models.registry import ModelRecord

log = logging.getLogger("dashboard")
FITS_SHOWN = 30


def regimes(board: Dashboard) -> dict[str, Any]:
    """Each market's current regime with the size multiplier it brings, and the latest fits."""
    settings = board.settings.regimes
    multipliers = dict(settings.multipliers)
    markets = [
        {**market, "multiplier": multipliers.get(market["regime"])}
        for market in board.reports.market_regimes()
    ]
    return {
        "markets": markets,
        "fits": board.reports.regime_fits(limit=FITS_SHOWN),
        "multipliers": multipliers,
        "refit_hours": settings.refit_hours,
        "timeframe_seconds": settings.timeframe_seconds,
    }


def models(board: Dashboard) -> dict[str, Any]:
    """Per asset: the model in use, the latest version, how many versions; and the last retraining run."""
    directory = models_directory(board.settings.system.var_dir)
    problem = None
    try:
        records = _records(directory)
    except (OSError, ValueError, KeyError) as exc:
        # a half-copied or hand-edited metadata.json must not take the whole page down
        log.warning("reading the model registry %s failed: %s", directory, exc)
        records, problem = [], f"the model registry could not be read: {exc}"
    return {
        "registry": str(directory),
        "assets": asset_rows(records),
        "problem": problem,
        "retraining": retraining_status(board.reports.daemon_value(RETRAINING_STATUS_KEY)),
        "llm_spend": llm_spend_today(board),
        "news": news_status(board),
    }


def _stored_object(board: Dashboard, key: str) -> dict[str, Any] | None:
    """A JSON object the daemon stored under `key`; None when absent or unreadable."""
    stored = board.reports.daemon_value(key)
    try:
        value = json.loads(stored) if stored else None
    except ValueError:
        log.warning("the stored %s value is not JSON; showing none", key)
        return None
    return value if isinstance(value, dict) else None


def news_status(board: Dashboard) -> dict[str, Any]:
    """Which sentiment scorer is active and how each news feed is doing (as of the last refresh)."""
    status = _stored_object(board, NEWS_STATUS_KEY)
    if status is None:
        config = board.settings.news
        reason = "waiting for the first refresh" if config.enabled and config.rss_feeds else config.why_off()
        return {"scorer": None, "reason": reason, "sources": {}, "stories": 0, "refreshed_at": None}
    return {**status, "reason": None}


def llm_spend_today(board: Dashboard) -> dict[str, Any] | None:
    """Today's LLM veto calls, tokens and cost, as the daemon records them; None before the first call."""
    spend = _stored_object(board, LLM_SPEND_KEY)
    if spend is None:
        return None
    today = board.clock.now().astimezone(ZoneInfo(board.settings.system.timezone)).date().isoformat()
    return spend if spend.get("day") == today else None


def _records(directory: Path) -> list[ModelRecord]:
    # Imported here: the registry pulls in XGBoost and pandas (seconds of start-up) that the
    # dashboard's other pages never need.
    from ml_models.models.registry import ModelRegistry

    return ModelRegistry(directory).list()  # an absent folder lists as no models


def asset_rows(records: Sequence[ModelRecord]) -> list[dict[str, Any]]:
    """One row per asset from records ordered by asset then version (as `ModelRegistry.list` gives them)."""
    by_asset: dict[str, list[ModelRecord]] = {}
    for record in records:
        by_asset.setdefault(record.asset, []).append(record)
    rows = []
    for asset, versions in sorted(by_asset.items()):
        promoted = [r for r in versions if r.promoted]
        rows.append(
            {
                "asset": asset,
                "in_use": summary(promoted[-1]) if promoted else None,
                "latest": summary(versions[-1]),
                "versions": len(versions),
            }
        )
    return rows


def summary(record: ModelRecord) -> dict[str, Any]:
    """What the panel shows of one version; keys a record written by an older registry lacks are None."""
    metadata = record.metadata
    comparison = metadata.get("comparison")
    features = metadata.get("features")
    return {
        "version": record.version,
        "promoted": record.promoted,
        "created_at": metadata.get("created_at"),
        "data_source": metadata.get("data_source"),  # absent before provenance was recorded
        "horizon": metadata.get("horizon"),
        "features": len(features) if isinstance(features, list) else None,
        "training_window": metadata.get("training_window"),
        "mean_metrics": metadata.get("mean_metrics"),
        "baseline_metrics": metadata.get("baseline_metrics"),
        "promotion_reason": metadata.get("promotion_reason"),
        "comparison_reason": comparison.get("reason") if isinstance(comparison, Mapping) else None,
    }


def retraining_status(stored: str | None) -> dict[str, Any] | None:
    """The last retraining run as the daemon stored it; None if there was none or it is unreadable."""
    if stored is None:
        return None
    try:
        status = json.loads(stored)
    except ValueError:
        log.warning("the stored %s status is not JSON; showing no retraining run", RETRAINING_STATUS_KEY)
        return None
    if not isinstance(status, dict) or not isinstance(status.get("state"), str):
        log.warning("the stored %s status has no state; showing no retraining run", RETRAINING_STATUS_KEY)
        return None
    outcomes = status.get("outcomes")
    return {
        **status,
        "outcomes": [o for o in outcomes if isinstance(o, dict)] if isinstance(outcomes, list) else [],
    }
