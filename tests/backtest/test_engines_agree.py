"""The vectorized engine and the event-driven replay agree where both can express the strategy.

An SMA crossover bot holding half its equity runs through the whole daemon over simulated minute
bars, with the daemon's own extras switched off in its configuration: no ensemble, veto or regime
model to refuse entries; caps, cooldown and loss-streak sizing out of reach; a stop far enough
away that the exit plan never acts, near enough that its 1R sizing stays above the 50 % cap. The
vectorized engine trades the same rule's targets x 0.5 with the same fee and, as its slippage,
the replay's half spread. They must take the same trades on the same bars, and end within cents
of each other: the daemon sizes from its equity before the fill's costs and rounds to the lot,
the vectorized engine sizes after the costs.
"""

from __future__ import annotations

import io
import sqlite3
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.cli import main
from backtest.rule_targets import rule_targets
from backtest.vectorized import Costs, run_targets
from domain.market import BarSeries
from domain.signals import Side
from ml_models.data import SimulationSettings, simulated_bars
from storage.database import open_storage

pytestmark = pytest.mark.slow

WARMUP = 120
POSITION = 0.5
PARAMS = {"fast": 10, "slow": 30, "stop_atr_multiple": 40.0}
SPREAD_BPS = 2.0  # half of it, 1 bp, is what each fill pays against the open

SETTINGS = """
[system]
database = "{base}/unused.sqlite"
var_dir = "{base}/var"
registry = "bots.toml"

[dashboard]
enabled = false

[ensemble]
enabled = false

[veto]
enabled = false

[regimes]
asset_classes = []

[risk]
daily_loss_limit_usd = 1000000.0
max_position_fraction = {position}
risk_fraction_per_trade = 0.1
max_order_notional_usd = 1000000.0
max_bot_exposure_fraction = 1.0
gross_exposure_cap_fraction = 1.0
max_correlated_exposure_fraction = 1.0
cvar_budget_fraction = 1.0
reentry_cooldown_minutes = 0.0
losses_to_reduce = 1000000

[risk.max_asset_class_exposure_fraction]
crypto = 1.0

[venues.sim-crypto]
asset_class = "crypto"
starting_cash_usd = 10000.0
taker_fee_bps = 10.0
maker_fee_bps = 10.0
slippage_bps = 0.0
impact_bps_per_10k_usd = 0.0
"""

BOTS = """
[[bots]]
name = "sma-btc"
class = "sma_crossover"
instruments = ["BTC/USD"]
venue = "sim-crypto"
schedule = {{ interval_seconds = 60 }}
timeframe_seconds = 60
params = {{ fast = {fast}, slow = {slow}, stop_atr_multiple = {stop_atr_multiple} }}
"""


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    base = tmp_path_factory.mktemp("agree")
    (base / "bots.toml").write_text(BOTS.format(**PARAMS))
    (base / "settings.toml").write_text(SETTINGS.format(base=base, position=POSITION))
    # a calibrated day per day of clock (not the demo's day an hour): minute bars move as real ones do,
    # so a stop 40 ATRs away is far enough for the exit plan never to act, and near enough for the
    # risk engine to size the position at its cap (50 % of equity), as the vectorized engine does
    world = SimulationSettings(bars=1500, timeframe_seconds=60, seed=11, day_seconds=86_400)
    frame = simulated_bars(("BTC",), world)["BTC"]
    frame.to_csv(base / "btc.csv")
    err = io.StringIO()
    code = main(
        [
            "replay",
            "--config",
            str(base / "settings.toml"),
            "--bars",
            f"sim-crypto:BTC/USD={base / 'btc.csv'}",
            "--warmup-bars",
            str(WARMUP),
            "--spread-bps",
            str(SPREAD_BPS),
            "--out",
            str(base / "out"),
            "--quiet",
        ],
        out=io.StringIO(),
        err=err,
    )
    assert code == 0, err.getvalue()
    return frame, base / "out" / "replay.sqlite"


def vectorized(frame: pd.DataFrame) -> tuple[np.ndarray, object]:
    series = BarSeries(
        "sim-crypto:BTC/USD",
        60,
        (frame.index.as_unit("s").asi8).astype(np.float64),
        *(frame[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")),
    )
    targets = rule_targets("sma_crossover", PARAMS, series, position_fraction=POSITION)
    targets[: WARMUP - 1] = 0.0  # the daemon's first decision is at the close of the last warm-up bar
    costs = Costs(fee_rate=0.001, slippage_rate=SPREAD_BPS / 2 / 10_000)
    result = run_targets(frame["open"], frame["close"], targets, costs=costs, initial_cash=10_000.0)
    return targets, result


def bar_of(frame: pd.DataFrame, moment: object) -> int:
    return int(frame.index.searchsorted(pd.Timestamp(moment), side="right")) - 1


def test_both_engines_take_the_same_trades_on_the_same_bars(both: tuple[pd.DataFrame, Path]) -> None:
    frame, database = both
    _, result = vectorized(frame)
    trips = result.trades[0]
    repo = open_storage(database)
    trades = sorted(repo.closed_trades(), key=lambda t: t.opened_at)
    assert len(trips) >= 10, "too few crossovers for the comparison to mean much"
    daemon = [(bar_of(frame, t.opened_at), bar_of(frame, t.closed_at)) for t in trades]
    assert daemon == list(zip(trips.entry_index.tolist(), trips.exit_index.tolist(), strict=True))
    for trade, units in zip(trades, trips.units, strict=True):
        assert trade.side is Side.BUY
        assert float(trade.quantity) == pytest.approx(units, rel=2e-3)  # costs in or out of the size
    # the stop was out of reach, so no exit came from the exit plan (the vectorized engine has none)
    with sqlite3.connect(database) as db:
        planned = db.execute("select count(*) from signals where evidence like '%exit_kind%'").fetchone()[0]
    assert planned == 0


def test_both_engines_end_with_the_same_equity(both: tuple[pd.DataFrame, Path]) -> None:
    frame, database = both
    _, result = vectorized(frame)
    cash, units = Decimal("10000"), Decimal(0)
    for fill in open_storage(database).fills():
        signed = fill.quantity * fill.side.sign
        cash -= signed * fill.price + fill.fee
        units += signed
    daemon_final = float(cash) + float(units) * float(frame["close"].iloc[-1])
    vector_final = float(result.final_equity[0])
    assert float(units) == pytest.approx(float(result.units[-1, 0]), rel=2e-3, abs=1e-4)
    # cents on 10,000 (3.5 cents when written): sizes differ by the fill's costs and the lot rounding
    assert daemon_final == pytest.approx(vector_final, abs=0.5)
    assert daemon_final != pytest.approx(10_000.0, abs=5.0), "the run should have moved the equity"
