"""Where the daemon, the command line and the dashboard find models and the retraining status.

A module without heavy imports: the dashboard reads these names without loading XGBoost.
"""

from __future__ import annotations

from pathlib import Path

# the daemon value (journal key) the latest retraining run writes its status to
RETRAINING_STATUS_KEY = "ml_retraining"


def models_directory(var_dir: str | Path) -> Path:
    """The model registry of a configuration: `<system.var_dir>/models`."""
    return Path(var_dir) / "models"
