"""Fit the calibration once per test process, outside any one test's timing."""

from __future__ import annotations

import pytest

from simulation.calibration import calibrate_all


@pytest.fixture(scope="session", autouse=True)
def _calibrated() -> None:
    calibrate_all()  # imports hmmlearn (scikit-learn) and fits: about 3 s, once
